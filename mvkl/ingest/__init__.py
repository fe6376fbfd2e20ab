"""Ingest: source tables + DICOM studies -> one de-identified HDF5 store (DESIGN.md data flow).

* :mod:`.records`: the records adapters produce (:mod:`mvkl.sources`);
* :mod:`.plan`: the deterministic plan of lumps, images, units and splits;
* :mod:`.decode`: per-image decoding and the worker pool;
* :mod:`.writer`: the crash-safe, resumable work directory and the final store writer;
* :mod:`.finalize`: journal + plan -> tables, quarantine, summary, (appended) store;
* :mod:`.pipeline`: :func:`~mvkl.ingest.pipeline.run_ingest` (validate -> plan -> decode -> finalize);
* :mod:`.summary`: the identifier-free summary; :mod:`.info`: what a store holds (`mvkl info`).
"""
