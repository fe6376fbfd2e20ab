"""Ingest: source tables + DICOM studies -> one de-identified HDF5 store (DESIGN.md data flow).

* :mod:`.records`: the records adapters produce (:mod:`mvkl.datasets`);
* :mod:`.plan`: the deterministic plan of lumps and images;
* :mod:`.writer`: the crash-safe, resumable work directory and the final store writer;
* :mod:`.pipeline`: validation -> plan -> parallel decode -> write -> finalize;
* :mod:`.summary`: the identifier-free summary.
"""
