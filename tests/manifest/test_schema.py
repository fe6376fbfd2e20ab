from mvkl.manifest import schema as S


def test_paper_table1_shape() -> None:
    sizes = [len(g.options) for g in S.GROUPS]
    assert sizes == [4, 4, 3, 3, 3, 3, 3, 3, 9]
    assert S.DIM == 35
    assert [o.index for o in S.OPTIONS] == list(range(35))
    assert sum(g.exclusive for g in S.GROUPS) == 8
    assert not S.MISC_GROUP.exclusive
    # Paper order inside rows.
    assert [o.en for o in S.GROUPS[0].options] == ["irregular", "lobulated", "ovoid", "round"]
    assert [o.en for o in S.GROUPS[1].options] == ["microlobulated", "obscured", "spiculated", "well-circumscribed"]
    assert S.MISC_GROUP.options[-1].en == "abnormal lymph node shadow"


def test_every_option_and_group_has_both_languages() -> None:
    for g in S.GROUPS:
        assert g.en and g.zh and g.zh != g.en
        for o in g.options:
            assert o.en and o.zh


def test_slash_merged_option_accepts_each_part() -> None:
    for part in ("crescentic", "annular", "gritty", "thread-like", "环形"):
        assert S.find_option("calc_shape", part).key == "calc_shape.crescentic"
    for part in ("popcorn-like", "eggshell-like", "large rod-like", "颗粒状"):
        assert S.find_option("calc_shape", part).key == "calc_shape.granular"
    assert S.find_option("calc_distribution", "segmental").key == "calc_distribution.linear_segmental"


def test_names_match_case_and_punctuation_insensitively() -> None:
    assert S.find_option("mass_edge", "WELL_CIRCUMSCRIBED").key == "mass_edge.well_circumscribed"
    assert S.find_option("mass_edge", "well circumscribed").key == "mass_edge.well_circumscribed"
    assert S.find_option("mass_shape", "Oval").key == "mass_shape.ovoid"
    assert S.find_option("mass_size", "<=2cm").key == "mass_size.le_2cm"
    assert S.find_option("mass_size", "≤2cm").key == "mass_size.le_2cm"
    assert S.find_group("Mass Margins").key == "mass_edge"
    assert S.find_group("钙化分布").key == "calc_distribution"
    assert S.find_option("mass_shape", "spiculated") is None


def test_names_are_unambiguous_within_a_group() -> None:
    for g in S.GROUPS:
        seen: dict[str, str] = {}
        for o in g.options:
            for n in o.names:
                tok = S.canonical_token(n)
                assert seen.setdefault(tok, o.key) == o.key, (g.key, n)


def test_column_names_map_to_dimensions() -> None:
    for o in S.OPTIONS:
        assert S.find_column_option(o.key) is o
        g = S.group_by_key()[o.group]
        assert S.find_column_option(f"{g.en}.{o.en}") is o
        assert S.find_column_option(f"{g.zh}.{o.zh}") is o
    # Bare names that occur in several groups ("low", "uneven") are not column names.
    assert S.find_column_option("low") is None
    assert S.find_column_option("patient_id") is None
