"""The survey data model: the cube's dimensions, the instrument, experts and their ratings.

A rating is one value of the cube (wave, panel, holder, subject, perspective, role): the wave
and panel come from the response, holder, subject and perspective from the item's block, the
role from the item.

Every text an expert reads of the instrument (role names and definitions, actor names, cities,
scale labels, the wave's title and landing text, block titles and prompts) is an
``InstrumentText``: one row per object, field and language, with its review status. The
models that own texts reach them as ``texts`` (``TextOwner.text_map``).
"""

from surveys.models.audit import (  # noqa: F401
    AuditEntry,
)
from surveys.models.delphi import (  # noqa: F401
    DelphiRound,
    DelphiStudy,
    RevisionJustification,
)
from surveys.models.experts import (  # noqa: F401
    Expert,
    ExpertQuerySet,
    Invitation,
)
from surveys.models.instrument import (  # noqa: F401
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    Actor,
    Block,
    Item,
    Panel,
    Perspective,
    Role,
    Scale,
    TextOwner,
    Wave,
    wave_languages_pattern,
)
from surveys.models.responses import (  # noqa: F401
    AppliedBlockChange,
    BlockComment,
    CommentReview,
    Rating,
    Response,
)
from surveys.models.texts import (  # noqa: F401
    OPTIONAL_TEXTS,
    TEXT_FIELDS,
    VIGNETTE_TEXTS,
    InstrumentText,
    _one_owner_with_its_fields,
)
from surveys.models.vignettes import (  # noqa: F401
    VignetteOrder,
    VignetteRank,
)
