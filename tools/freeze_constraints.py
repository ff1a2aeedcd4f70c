"""Prints constraints.txt: the installed versions of everything the
requirements files pull in (what the test suite just passed with).

    python3 tools/freeze_constraints.py > constraints.txt

Run it in the environment where `.ci/run`'s test command passed, after
upgrading (e.g. `pip install -U -r requirements.txt ...`), and commit the
result with the suite's outcome.
"""

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

FILES = ("requirements.txt", "requirements-onnx.txt", "requirements-browser.txt")
NO_DEPS = ("jax2onnx",)  # installed with --no-deps: pin it, not what it asks for


def _requirements(dist, extras=()) -> list[Requirement]:
  out = []
  for text in dist.requires or []:
    req = Requirement(text)
    if req.marker is None or req.marker.evaluate({"extra": ""}):
      out.append(req)
    elif any(req.marker.evaluate({"extra": e}) for e in extras):
      out.append(req)
  return out


def closure() -> dict[str, str]:
  """{name: installed version} of the requirements and their dependencies."""
  stack = [Requirement(name) for name in NO_DEPS]
  for path in FILES:
    with open(path, encoding="utf-8") as f:
      for line in f:
        line = line.split("#")[0].strip()
        if line:
          stack.append(Requirement(line))
  pinned = {}
  while stack:
    req = stack.pop()
    name = canonicalize_name(req.name)
    if name in pinned:
      continue
    try:
      dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
      continue  # not for this platform
    pinned[name] = dist.version
    if name not in NO_DEPS:
      stack.extend(_requirements(dist, req.extras))
  return pinned


def main() -> None:
  print("# The versions the test suite passed with (.ci/run). The README's")
  print("# commands install with -c constraints.txt, so a fresh machine gets")
  print("# what was tested. Move forward: upgrade, pass the suite, then")
  print("#   python3 tools/freeze_constraints.py > constraints.txt")
  for name, version in sorted(closure().items()):
    print(f"{name}=={version}")


if __name__ == "__main__":
  main()
