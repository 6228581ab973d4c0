"""AWS credentials and where they come from, as the AWS CLI and SDKs find them.

One module per source: ``env`` (environment variables), ``profiles`` (a profile of the shared
files, read by ``config``), ``process`` (``credential_process``), ``web_identity``,
``container`` (ECS/EKS), ``imds`` (EC2 instance metadata), ``assume_role``, ``mfa`` (STS
GetSessionToken), ``sso`` (IAM Identity Center), ``sts`` (the STS client they share) and
``chain`` (the standard order). Imports point one way: this package uses the low-level
``fastsig.sigv4`` layer to sign its STS calls and never ``fastsig.signer``, which imports it.

>>> from fastsig.credentials import default_provider
>>> chain = default_provider(environ={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
...                                   "AWS_SECRET_ACCESS_KEY": "secret"})
>>> chain.resolve(), chain.method
(Credentials(access_key_id='AKIDEXAMPLE', secret_access_key=<hidden>), 'env')
"""

from __future__ import annotations

from .assume_role import AssumeRoleProvider
from .base import Credentials, CredentialsProvider, StaticProvider
from .chain import ChainProvider, default_provider, default_region, region_source
from .container import ContainerProvider
from .env import EnvironmentProvider
from .imds import InstanceMetadataProvider, instance_region
from .mfa import SessionTokenProvider
from .process import ProcessProvider
from .profiles import SharedFilesProvider
from .sso import SSOProvider
from .web_identity import WebIdentityProvider

__all__ = [
    "AssumeRoleProvider",
    "ChainProvider",
    "ContainerProvider",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentProvider",
    "InstanceMetadataProvider",
    "ProcessProvider",
    "SSOProvider",
    "SessionTokenProvider",
    "SharedFilesProvider",
    "StaticProvider",
    "WebIdentityProvider",
    "default_provider",
    "default_region",
    "instance_region",
    "region_source",
]
