"""Controllers: turn user intents from the views into changes of the Qt-free models."""
