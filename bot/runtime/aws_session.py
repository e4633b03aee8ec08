"""The boto3 session the Lambda functions make their clients from, cheaper to make clients from.

A new container's first Slack request needs three clients (Secrets Manager for the Slack secret,
DynamoDB for the replay check, Lambda to start the lazy listener), and botocore spends most of making a
client on its data files, in two ways that this session avoids (bench/cold_start.py measures each):

- it parses every JSON file into `OrderedDict`s (`object_pairs_hook`), several times slower than plain
  dicts, which keep their order as well: the endpoint data (1.2 MB, read for the first client) and each
  service's model and endpoint rules;
- before it loads a service's model it lists every service it has data for, to check the name: some
  450 directories, listed once for each kind of file (`service-2`, `endpoint-rule-set-1`). Here only
  the services the bot uses (`AWS_SERVICES`) are looked for; a client of any other service fails as
  botocore fails a service it doesn't know (`UnknownServiceError`, naming the ones it does).

The files, the search path (`AWS_DATA_PATH` included) and what is made from them are botocore's own.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, instance_cache

if TYPE_CHECKING:
    import boto3

# Every service the Lambda functions make a client of through their session (bot.runtime.compose,
# bot.runtime.lambda_handlers); tests/runtime/test_cold_start.py makes each.
AWS_SERVICES = ("dynamodb", "lambda", "s3", "sagemaker", "secretsmanager", "sqs")
_OPENERS: tuple[tuple[str, Any], ...] = ((".json", open), (".json.gz", gzip.open))  # botocore's, in its order


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, parsing into plain dicts (ordered too) rather than `OrderedDict`s."""

    def load_file(self, file_path: str) -> Any:
        for extension, opener in _OPENERS:
            path = file_path + extension
            if os.path.isfile(path):
                with opener(path, "rb") as file:
                    return json.loads(file.read().decode("utf-8"))
        return None


class KnownServicesLoader(Loader):
    """botocore's data loader, looking only for `services` when asked which services it has data for."""

    def __init__(self, services: Iterable[str], **options: Any) -> None:
        super().__init__(file_loader=PlainJSONFileLoader(), **options)
        self.services = tuple(sorted(services))

    @instance_cache
    def list_available_services(self, type_name: str) -> list[str]:
        found = []
        for service in self.services:
            try:
                self.list_api_versions(service, type_name)  # kept: the next step asks for it
            except DataNotFoundError:
                continue
            found.append(service)
        return found


def lambda_session(services: Iterable[str] = AWS_SERVICES) -> boto3.session.Session:
    """A boto3 session (credentials, region and configuration as usual) whose clients load their data
    through `KnownServicesLoader`."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    # As botocore's create_loader: AWS_DATA_PATH's directories are searched first.
    data_path = core.get_config_variable("data_path")
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep) if p]
    core.register_component("data_loader", KnownServicesLoader(services, extra_search_paths=extra))
    return boto3.session.Session(botocore_session=core)
