import types

FEATURES: dict[str, str]

class ServerInfo:
    name: str
    implementation: str
    version: str
    library: str
    backend: str | None
    rate: int
    period: int
    realtime: bool
    features: types.MappingProxyType[str, bool]
    def __init__(self, name: str, implementation: str, version: str, library: str,
                 backend: str | None, rate: int, period: int, realtime: bool,
                 features: types.MappingProxyType[str, bool]) -> None: ...
    def has(self, feature: str) -> bool: ...
    @property
    def missing(self) -> list[str]: ...

def server_info(server: str | None = None) -> ServerInfo: ...
def libjack_is_pipewire() -> bool: ...
def pipewire_library_dir() -> str | None: ...
def features_of(implementation: str, version: str, backend: str | None,
                physical: bool) -> dict[str, bool]: ...
def implementation_of(library: str) -> tuple[str, str]: ...
