"""Import every capability's tables so the metadata is complete (for Alembic and tests)."""

from accord.attribution import models as attribution  # noqa: F401
from accord.audit import models as audit  # noqa: F401
from accord.auth import models as auth  # noqa: F401
from accord.capacity import models as capacity  # noqa: F401
from accord.crisis import models as crisis  # noqa: F401
from accord.db import Base
from accord.directory import models as directory  # noqa: F401
from accord.incidents import models as incidents  # noqa: F401
from accord.matching import jobs as matching_jobs  # noqa: F401
from accord.matching import models as matching  # noqa: F401
from accord.norms import models as norms  # noqa: F401
from accord.sharing import federation_models as federation  # noqa: F401
from accord.sharing import models as sharing  # noqa: F401

metadata = Base.metadata
