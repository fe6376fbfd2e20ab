"""The adapters read lines of the real release files, copied byte for byte from public copies.

Sources (docs/public-datasets.md): CBIS-DDSM ``calc_case_description_train_set.csv`` from
harshithach999/CS-5610-100 and the ``mass_case_description_train_set.csv`` header and layout from
Slaysenfite/CBIS-DDSM-PNG; VinDr-Mammo ``finding_annotations.csv`` rows from
emrekaragh/vindr-mammo-study (``data-preperation/data/.ipynb_checkpoints/finding_annotations-checkpoint.csv``);
the INbreast ``INbreast.csv`` header (spec/dicom.md §3.2) and its first cells as public code that
reads the release shows them. No image file exists: the adapters must read the tables alone
(missing images are the pipeline's ``missing-file`` quarantine).
"""

from __future__ import annotations

from pathlib import Path

from mvkl.sources.cbis_ddsm import CbisDdsmAdapter
from mvkl.sources.inbreast import InbreastAdapter
from mvkl.sources.vindr import VindrAdapter

CALC_TRAIN = (
    "patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,calc type,"
    "calc distribution,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file path\n"
    "P_00005,3,RIGHT,CC,1,calcification,AMORPHOUS,CLUSTERED,3,MALIGNANT,3,"
    "Calc-Training_P_00005_RIGHT_CC/1.3.6.1.4.1.9590.100.1.2.408909860712120272633130274602115723157/"
    "1.3.6.1.4.1.9590.100.1.2.47414316010368386519740343172775938548/000000.dcm,"
    "\"Calc-Training_P_00005_RIGHT_CC_1/1.3.6.1.4.1.9590.100.1.2.328778919012412769218080124214088709081/"
    "1.3.6.1.4.1.9590.100.1.2.393344010211719049419601138200355094682/000001.dcm\n\","
    "Calc-Training_P_00005_RIGHT_CC_1/1.3.6.1.4.1.9590.100.1.2.328778919012412769218080124214088709081/"
    "1.3.6.1.4.1.9590.100.1.2.393344010211719049419601138200355094682/000000.dcm\n"
    "P_00008,1,LEFT,CC,1,calcification,NA,REGIONAL,2,BENIGN_WITHOUT_CALLBACK,3,"
    "Calc-Training_P_00008_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.162256682111885666305889708873412464189/"
    "1.3.6.1.4.1.9590.100.1.2.406725628213826290127343763811145520834/000000.dcm,"
    "\"Calc-Training_P_00008_LEFT_CC_1/1.3.6.1.4.1.9590.100.1.2.336811694512764490002272925921108351157/"
    "1.3.6.1.4.1.9590.100.1.2.281397494612871934937455783843630775495/000001.dcm\n\","
    "Calc-Training_P_00008_LEFT_CC_1/1.3.6.1.4.1.9590.100.1.2.336811694512764490002272925921108351157/"
    "1.3.6.1.4.1.9590.100.1.2.281397494612871934937455783843630775495/000000.dcm\n"
    "P_00008,1,LEFT,CC,2,calcification,NA,REGIONAL,2,BENIGN_WITHOUT_CALLBACK,3,"
    "Calc-Training_P_00008_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.162256682111885666305889708873412464189/"
    "1.3.6.1.4.1.9590.100.1.2.406725628213826290127343763811145520834/000000.dcm,"
    "\"Calc-Training_P_00008_LEFT_CC_2/1.3.6.1.4.1.9590.100.1.2.207558519313356140106496367610041842177/"
    "1.3.6.1.4.1.9590.100.1.2.2024181113538627406890441552979568519/000001.dcm\n\","
    "Calc-Training_P_00008_LEFT_CC_2/1.3.6.1.4.1.9590.100.1.2.207558519313356140106496367610041842177/"
    "1.3.6.1.4.1.9590.100.1.2.2024181113538627406890441552979568519/000000.dcm\n"
)
MASS_TRAIN = (
    "patient_id,breast_density,left or right breast,image view,abnormality id,abnormality type,mass shape,"
    "mass margins,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file path\n"
    "P_00001,3,LEFT,CC,1,mass,IRREGULAR-ARCHITECTURAL_DISTORTION,SPICULATED,4,MALIGNANT,4,"
    "Mass-Training_P_00001_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.422112722213189649807611434612228974994/"
    "1.3.6.1.4.1.9590.100.1.2.342386194811267636608694132590482924515/000000.dcm,"
    "Mass-Training_P_00001_LEFT_CC_1/1.3.6.1.4.1.9590.100.1.2.108268213011361124203859148071588939106/"
    "1.3.6.1.4.1.9590.100.1.2.296736403313792599626368780122205399650/000000.dcm,"
    "\"Mass-Training_P_00001_LEFT_CC_1/1.3.6.1.4.1.9590.100.1.2.108268213011361124203859148071588939106/"
    "1.3.6.1.4.1.9590.100.1.2.296736403313792599626368780122205399650/000001.dcm\n\"\n"
)
VINDR_FINDING = (
    "study_id,series_id,image_id,laterality,view_position,height,width,breast_birads,breast_density,"
    "finding_categories,finding_birads,xmin,ymin,xmax,ymax,split\n"
    "48575a27b7c992427041a82fa750d3fa,26de4993fa6b8ae50a91c8baf49b92b0,4e3a578fe535ea4f5258d3f7f4419db8,R,CC,"
    "3518,2800,BI-RADS 4,DENSITY C,['Mass'],BI-RADS 4,2355.1398925781,1731.6400146484,2482.9799804688,1852.75,"
    "training\n"
    "57674c2def92287668ed5bc51092fbef,080c6eda9556d5bf5c10e2299b1f6fbc,dc4694b543793f89c7003f4d52adbbcb,L,CC,"
    "3518,2800,BI-RADS 5,DENSITY C,['Mass'],BI-RADS 4,-6.2529702186584,1805.4599609375,180.51100158691,"
    "1996.9499511719,training\n"
    "7c51789da6c462e55bcb95c2a7d437ee,ac4d0771f6d7a7400ab463458f789dbe,f581ef53bb7e61f4575db33eceac8ff8,L,CC,"
    "3518,2800,BI-RADS 4,DENSITY C,\"['Nipple Retraction', 'Mass']\",BI-RADS 4,588.8740234375,1397.7099609375,"
    "812.36199951172,1734.7199707031,training\n"
    "66a1867c10dc043ac2d6fdb76bef9115,cfdb284ca35d94c46fa31278f3d2c966,de271f535b0d9c01a793d9ed2db5708d,L,CC,"
    "3518,2800,BI-RADS 4,DENSITY C,['Skin Thickening'],,619.09197998047,1244.1099853516,727.40899658203,"
    "1783.4000244141,training\n"
    "5683854eafabc34f6d854000d2ac6c2d,4ac33111294b83d43537cb8604b0808c,2f944efb1cb9579442df2d7fe6a579b7,L,CC,"
    "3518,2800,BI-RADS 3,DENSITY C,['Mass'],BI-RADS 3,142.8990020752,2171.8100585938,439.58499145508,"
    "2403.3701171875,test\n"
)
INBREAST_HEADER = ("Patient ID;Patient age;Laterality;View;Acquisition date;File Name;ACR;Bi-Rads;Mass ;Micros;"
                   "Distortion;Asymmetry;Findings Notes (in Portuguese);Other Notes;Lesion Annotation Status;"
                   "Pectoral Muscle Annotation;Other Annotations\n")


def test_cbis_real_calc_and_mass_lines(tmp_path: Path) -> None:
    (tmp_path / "calc_case_description_train_set.csv").write_text(CALC_TRAIN, encoding="utf-8")
    (tmp_path / "mass_case_description_train_set.csv").write_text(MASS_TRAIN, encoding="utf-8")
    res = CbisDdsmAdapter(val_fraction=0.0).read(tmp_path)
    assert res.problems == []
    got = {(r.patient_key, r.laterality, next(iter(r.images))): r for r in res.records}
    assert set(got) == {("P_00005", "R", "CC"), ("P_00008", "L", "CC"), ("P_00001", "L", "CC")}
    p8 = got[("P_00008", "L", "CC")]  # two abnormality rows, one image; "NA" calc type is no value
    assert (p8.label, p8.birads, p8.density, p8.split) == (0, "2", 1, "train")
    assert got[("P_00005", "R", "CC")].label == 1 and got[("P_00001", "L", "CC")].density == 3
    assert all(ref.rel.endswith("000000.dcm") and "\n" not in ref.rel for r in res.records for ref in r.images.values())
    assert res.sources[0].manifest_mapping["unknown_values"] == {"calc type": 2}  # the two "NA" cells


def test_vindr_real_finding_lines(tmp_path: Path) -> None:
    (tmp_path / "finding_annotations.csv").write_text(VINDR_FINDING, encoding="utf-8")
    lines = VINDR_FINDING.splitlines()[1:]
    breast = ["study_id,series_id,image_id,laterality,view_position,height,width,breast_birads,breast_density,split"]
    for line in lines:  # the breast-level row of each image: the finding row's first 9 cells and its split
        cells = line.split(",")
        breast.append(",".join([*cells[:9], cells[-1]]))
    (tmp_path / "breast-level_annotations.csv").write_text("\n".join(breast) + "\n", encoding="utf-8")
    res = VindrAdapter(val_fraction=0.0).read(tmp_path)
    assert res.problems == []
    by_image = {r.lump_key: r for r in res.records}
    first = by_image["4e3a578fe535ea4f5258d3f7f4419db8"].images["CC"].lesions
    assert [(x.kind, x.box) for x in first] == [("mass", (2355.1398925781, 1731.6400146484, 2482.9799804688,
                                                          1852.75))]
    neg = by_image["dc4694b543793f89c7003f4d52adbbcb"].images["CC"].lesions[0]
    assert neg.box[0] == 0.0  # the release's negative xmin, clipped
    assert by_image["de271f535b0d9c01a793d9ed2db5708d"].images["CC"].lesions[0].kind == "other"  # skin, no BI-RADS
    assert by_image["f581ef53bb7e61f4575db33eceac8ff8"].images["CC"].lesions[0].kind == "mass"
    assert {r.split for r in res.records} == {"train", "test"}
    assert by_image["4e3a578fe535ea4f5258d3f7f4419db8"].images["CC"].rel.endswith(".dicom")


def test_inbreast_real_header_and_removed_cells(tmp_path: Path) -> None:
    (tmp_path / "AllDICOMs").mkdir()
    row = "removed;removed;R;CC;201001;22678622;4;1;;;;;;;NO ANNOTATION (NORMAL);;\n"
    (tmp_path / "INbreast.csv").write_text(INBREAST_HEADER + row, encoding="utf-8")
    res = InbreastAdapter().read(tmp_path)
    assert res.problems == []
    (rec,) = res.records
    assert (rec.label, rec.birads, rec.density, rec.age, rec.laterality) == (0, "1", 4, None, "R")
    assert res.sources[0].manifest_mapping["unknown_values"] == {"Patient ID": 1, "Patient age": 1}
