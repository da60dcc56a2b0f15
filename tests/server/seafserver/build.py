"""Command line of the library builder (builder.py):

  PYTHONPATH=tests/server python3 -m seafserver.build --data DIR account EMAIL PASSWORD [--staff]
  PYTHONPATH=tests/server python3 -m seafserver.build --data DIR create --name NAME --owner EMAIL
        [--src DIR] [--repo-id UUID] [--desc TEXT] [--share EMAIL=r|rw ...] [--ctime T] [--mtime T]
  PYTHONPATH=tests/server python3 -m seafserver.build --data DIR commit --repo-id UUID --src DIR
        [--description TEXT] [--creator-name EMAIL] [--ctime T] [--mtime T] [--keep-head]

Prints the repo id (create) or the new head commit id (commit). Stop a server running on DIR
first, or use --keep-head and move the head through the server's control API.
"""

import argparse
import sys

from . import builder
from .objects import is_repo_id


def _share(text):
    email, sep, permission = text.rpartition("=")
    if not sep or not email or permission not in ("r", "rw"):
        raise argparse.ArgumentTypeError(f"share must be EMAIL=r or EMAIL=rw, not {text!r}")
    return email, permission


def _repo_id(text):
    if not is_repo_id(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a lowercase UUID")
    return text


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m seafserver.build",
                                     description="Build Seafile libraries for the reference server.")
    parser.add_argument("--data", required=True, help="data directory of the reference server")
    commands = parser.add_subparsers(dest="command", required=True)

    account = commands.add_parser("account", help="create or update a user account")
    account.add_argument("email")
    account.add_argument("password")
    account.add_argument("--name")
    account.add_argument("--staff", action="store_true")

    create = commands.add_parser("create", help="create a library from a directory")
    create.add_argument("--name", required=True)
    create.add_argument("--owner", required=True)
    create.add_argument("--src", help="directory to copy in (default: an empty library)")
    create.add_argument("--repo-id", type=_repo_id)
    create.add_argument("--desc", default="")
    create.add_argument("--share", type=_share, action="append", default=[])
    create.add_argument("--ctime", type=int, help="commit time (Unix seconds)")
    create.add_argument("--mtime", type=int, help="mtime of every entry (default: local mtimes)")

    commit = commands.add_parser("commit", help="add a commit with a directory's content on top")
    commit.add_argument("--repo-id", type=_repo_id, required=True)
    commit.add_argument("--src", required=True)
    commit.add_argument("--description")
    commit.add_argument("--creator-name")
    commit.add_argument("--ctime", type=int)
    commit.add_argument("--mtime", type=int)
    commit.add_argument("--keep-head", action="store_true",
                        help="write the commit but leave the head in state.json unchanged")
    return parser.parse_args(argv)


def run(args):
    if args.command == "account":
        builder.add_account(args.data, args.email, args.password, args.name, is_staff=args.staff)
    elif args.command == "create":
        print(builder.create_library(args.data, args.name, args.owner, args.src,
                                     repo_id=args.repo_id, desc=args.desc,
                                     shares=dict(args.share), mtime=args.mtime, ctime=args.ctime))
    else:
        print(builder.commit_directory(args.data, args.repo_id, args.src,
                                       description=args.description,
                                       creator_name=args.creator_name, ctime=args.ctime,
                                       mtime=args.mtime, move_head=not args.keep_head))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return builder.run_command("seafserver.build", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
