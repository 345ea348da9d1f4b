"""Train on this project: a dialog to set up a fine-tune of the project's annotations, the run as a separate
`protolabel train` process, and its live progress (loss chart, ETA, Cancel, Resume, AP, use the new model)."""

from protolabel.app.training.controller import TrainingController
from protolabel.app.training.status import TrainingStatusButton

__all__ = ["TrainingController", "TrainingStatusButton"]
