"""The one exception type devenv raises for its own failures."""


class DevEnvError(RuntimeError):
    """A local component could not be located, started or driven."""
