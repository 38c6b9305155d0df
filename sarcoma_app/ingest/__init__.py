"""Reading and checking uploaded cohorts (pure: no Streamlit, no database).

One module per step, in the order an upload goes through them:

* :mod:`.read` - bytes of a file -> a table of text cells (:func:`~.read.read_table`), by
  :mod:`.delimited` (CSV, TSV...) or :mod:`.workbook` (XLSX), building :mod:`.tables`
  (:class:`~.tables.RawTable`, :class:`~.tables.Problem`);
* :mod:`.columns` - the columns the app reads (:data:`~.columns.SPECS`) and which column of a
  file is which (:func:`~.columns.suggest_mapping`);
* :mod:`.values` - the cells of one column as the app's values, and the words recognised;
* :mod:`.cohort` - the checks across columns and files, and the checked cohort
  (:func:`~.cohort.prepare_cohort`);
* :mod:`.templates` - the data dictionary, the templates, and problems and recognitions as tables;
* :mod:`.formats` - standard formats (CDISC ADaM, cBioPortal, REDCap) read into the app's own layout,
  with their checks, before the steps above.
"""
