"""The committed Chinese catalogue is complete and compiled: every string the code marks has a
translation, and the .mo the app loads says what the .po says."""

from pathlib import Path

import polib
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_chinese_entry_is_translated_and_none_is_fuzzy():
    catalogue = polib.pofile(str(PO))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []


def test_the_compiled_catalogue_matches_the_po_file():
    catalogue = polib.pofile(str(PO))
    with translation.override("zh-hans"):
        for entry in catalogue.translated_entries():
            if entry.msgid_plural:
                got = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                expected = entry.msgstr_plural[0]
            elif entry.msgctxt:
                got, expected = translation.pgettext(entry.msgctxt, entry.msgid), entry.msgstr
            else:
                got, expected = translation.gettext(entry.msgid), entry.msgstr
            assert got == expected, f"stale .mo for {entry.msgid!r}: run `make messages`"
