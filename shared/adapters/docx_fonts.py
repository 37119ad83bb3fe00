"""One font family for a generated .docx: the default template's theme mixes a sans and a serif.

python-docx's template sets the theme's heading (major) font to Calibri and its body (minor)
font to Cambria; table styles and body text follow the theme, so a page switched between the
two. Pointing both theme fonts at one family keeps every style in it, in Word and LibreOffice.
"""

from __future__ import annotations

import re

FONT_FAMILY = "Calibri"
THEME_PART = "word/theme/theme1.xml"
_THEME_LATIN = re.compile(rb'(<a:(?:major|minor)Font>\s*<a:latin typeface=")[^"]*(")')


def one_font_family(theme_xml: bytes) -> bytes:
    """The theme part with its heading and body fonts both set to :data:`FONT_FAMILY`."""
    return _THEME_LATIN.sub(rb"\g<1>" + FONT_FAMILY.encode() + rb"\g<2>", theme_xml)
