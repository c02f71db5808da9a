"""XLIFF 2.0 files of a wave's texts, for translation tools (OmegaT, memoQ, Trados, Weblate…).

One ``<file original="wave/<slug>">`` holds one ``<unit id="<key>">`` per text, with the
text's description as a note and one segment: ``<source>`` in the source language and
``<target>`` in the file's language (absent where the text is missing). The segment's state
is ``initial`` (missing), ``translated`` (a draft) or ``reviewed``; on import ``reviewed`` and
``final`` mean reviewed, anything else draft.

Files are parsed with ``defusedxml``, which refuses DTDs, entity declarations and external
references (billion laughs, XXE) before any of them is expanded.
"""

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _

from surveys.texts.documents import DocumentError, TextDocument, TextEntry

NS = "urn:oasis:names:tc:xliff:document:2.0"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
WAVE_PREFIX = "wave/"
REVIEWED_STATES = ("reviewed", "final")

ET.register_namespace("", NS)


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _text_element(parent: ET.Element, name: str, text: str) -> None:
    element = ET.SubElement(parent, _tag(name))
    element.text = text
    if "\n" in text:
        element.set(XML_SPACE, "preserve")


def xliff_write(document: TextDocument) -> bytes:
    root = ET.Element(
        _tag("xliff"),
        {"version": "2.0", "srcLang": document.source_language, "trgLang": document.language},
    )
    file = ET.SubElement(
        root,
        _tag("file"),
        {"id": "instrument", "original": f"{WAVE_PREFIX}{document.wave}", "canResegment": "no"},
    )
    for entry in document.entries:
        unit = ET.SubElement(file, _tag("unit"), {"id": entry.key})
        if entry.note:
            notes = ET.SubElement(unit, _tag("notes"))
            ET.SubElement(notes, _tag("note"), {"category": "description"}).text = entry.note
        state = "reviewed" if entry.reviewed else "translated" if entry.target else "initial"
        segment = ET.SubElement(unit, _tag("segment"), {"state": state})
        _text_element(segment, "source", entry.source)
        if entry.target:
            _text_element(segment, "target", entry.target)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _plain_text(element: ET.Element, *, key: str) -> str:
    if len(element):
        raise DocumentError(
            _("Unit “%(key)s”: the target holds markup; only plain text is accepted.")
            % {"key": key},
            code="xliff_markup",
        )
    return element.text or ""


def _unit_entry(unit: ET.Element) -> TextEntry:
    key = unit.get("id", "")
    if not key:
        raise DocumentError(_("A unit of the file has no id."), code="xliff_unit_id")
    segments = unit.findall(_tag("segment"))
    if not segments:
        raise DocumentError(
            _("Unit “%(key)s” has no segment.") % {"key": key}, code="xliff_no_segment"
        )
    parts, reviewed, translated = [], True, False
    for part in unit:
        if part.tag not in (_tag("segment"), _tag("ignorable")):
            continue
        target = part.find(_tag("target"))
        if part.tag == _tag("segment"):
            reviewed = reviewed and part.get("state", "initial") in REVIEWED_STATES
            translated = translated or target is not None
        chosen = target if target is not None else part.find(_tag("source"))
        parts.append(_plain_text(chosen, key=key) if chosen is not None else "")
    source = "".join(
        _plain_text(source, key=key)
        for segment in segments
        if (source := segment.find(_tag("source"))) is not None
    )
    return TextEntry(
        key=key,
        source=source,
        target="".join(parts) if translated else "",
        reviewed=reviewed and translated,
    )


def xliff_read(data: bytes) -> TextDocument:
    """The document of an XLIFF 2.0 file; ``DocumentError`` when it is not one."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except ET.ParseError as error:
        line, column = error.position
        raise DocumentError(
            _("The file is not well-formed XML (line %(line)s, column %(column)s): %(reason)s.")
            % {"line": line, "column": column, "reason": str(error).split(":")[0]},
            code="xml_malformed",
        ) from error
    except DefusedXmlException as error:
        raise DocumentError(
            _("The file declares a DTD or entities, which are not accepted."),
            code="xml_forbidden",
        ) from error
    if root.tag != _tag("xliff") or not root.get("version", "").startswith("2."):
        raise DocumentError(
            _('The file is not an XLIFF 2.0 document (its root must be <xliff version="2.0">).'),
            code="xliff_version",
        )
    source_language, language = root.get("srcLang", ""), root.get("trgLang", "")
    if not language:
        raise DocumentError(
            _("The file does not say its target language (trgLang)."), code="xliff_language"
        )
    original = next(
        (file.get("original", "") for file in root.iter(_tag("file")) if file.get("original")),
        "",
    )
    wave = original.removeprefix(WAVE_PREFIX) if original.startswith(WAVE_PREFIX) else ""
    entries, problems = [], []
    for unit in root.iter(_tag("unit")):
        try:
            entries.append(_unit_entry(unit))
        except DocumentError as error:
            problems.extend(error.messages)
    if problems:
        raise DocumentError(problems, code="xliff_units")
    return TextDocument(
        wave=wave,
        source_language=source_language,
        language=language,
        entries=tuple(entries),
    )
