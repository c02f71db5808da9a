"""The instrument's texts in every language, and the translator's workflow.

Each text an expert reads of the instrument is one ``surveys.models.InstrumentText`` row: an
owner (a wave, block, actor, role, panel or scale), a field, a language, the text and its
review status. A missing text has no row. A wave lists the languages it is fielded in and
cannot open while a text of its instrument is missing in one of them.

- ``keys``: the texts a wave's instrument has (``TextSlot``), each under a key such as
  ``role.protectee.name``, the name translators' files use;
- ``selectors``: reads: the texts of slots, completeness per language, a text in a page's
  language with its fallback (``text_pick``);
- ``services``: writes: setting a text, marking texts reviewed, importing a file;
- ``checks``: what an imported text must pass (placeholders, script and alphabet);
- ``documents``, ``xliff``, ``spreadsheet``: the exchange files, XLIFF 2.0 and CSV.
"""
