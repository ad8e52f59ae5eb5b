"""mailorder: an email-native order desk. Customers email orders, an agent drafts them, reps
approve by reply. Subpackages follow the brief's top-level folders: agent, mail, tools, store,
mock_erp, prompts, data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mailorder")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
