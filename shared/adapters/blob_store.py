"""Blob Storage behind :class:`~shared.ports.BlobStore`; containers are created on first write."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContentSettings

from shared.errors import NotFound, ServiceError, TransientServiceError
from shared.ports import BlobInfo

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except ResourceNotFoundError as err:
        raise NotFound(f"{what} does not exist") from err
    except (ServiceRequestError, ServiceResponseError) as err:
        raise TransientServiceError(f"blob storage unreachable for {what}: {err}") from err
    except HttpResponseError as err:
        if err.status_code in (408, 429) or (err.status_code or 0) >= 500:
            raise TransientServiceError(f"blob storage busy for {what}: {err.message}") from err
        raise ServiceError(f"blob storage refused {what}: {err.message}") from err


class AzureBlobStore:
    """Blobs of one storage account."""

    def __init__(self, client: BlobServiceClient) -> None:
        self._client = client
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def info(self, container: str, name: str) -> BlobInfo:
        """Size, ETag and content type, or :class:`NotFound`."""
        with _translated(f"blob {container}/{name}"):
            props = self._client.get_blob_client(container, name).get_blob_properties()
        return BlobInfo(int(props.size), str(props.etag), str(props.content_settings.content_type or ""))

    def read(self, container: str, name: str) -> bytes:
        """The blob's bytes, or :class:`NotFound`."""
        with _translated(f"blob {container}/{name}"):
            return self._client.get_blob_client(container, name).download_blob().readall()

    def write(self, container: str, name: str, data: bytes, content_type: str) -> BlobInfo:
        """Create or overwrite the blob."""
        self._ensure_container(container)
        with _translated(f"blob {container}/{name}"):
            result = self._client.get_blob_client(container, name).upload_blob(
                data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
        return BlobInfo(len(data), str(result["etag"]), content_type)

    def _ensure_container(self, container: str) -> None:
        if container in self._ready:
            return
        with self._lock, _translated(f"container {container}"):
            # Usually created already, by infrastructure or an earlier worker.
            with suppress(ResourceExistsError):
                self._client.create_container(container)
            self._ready.add(container)

    def ping(self) -> None:
        """Raise unless the account answers (for the health route)."""
        with _translated("the storage account"):
            self._client.get_account_information()
