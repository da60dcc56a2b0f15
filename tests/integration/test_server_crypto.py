"""Library encryption of the reference server (seafserver.crypto, builder): the protocol doc's
§5.7 test vectors for enc_version 1 to 4 and pwd_hash, the real server's encrypted vector
libraries (Secret = v2, Secret4 = v4) decrypted block by block to their plain/ files, and the
encrypted libraries the builder creates (every version, magic or pwd_hash): commit fields as the
real server writes them, decryptable blocks, password checks, reproducible ids, and the
encryption fields in the Seahub answers; the encrypted demo libraries decrypt to their
sources."""

import hashlib
import json
import pathlib
import uuid

import pytest

import mount_fixture
from replay import send
from syncclient import SyncClient
from seafserver import builder, crypto, demo
from seafserver.objects import Commit, SeafFile, parse_stored_fs_object
from seafserver.storage import Storage
from seafserver.testing import VECTORS_DIR, SeafServer
from seafserver.vectors import FILE_KEYS

VECTORS = pathlib.Path(VECTORS_DIR)
REPOS = json.loads((VECTORS / "repos.json").read_text())
STORAGE = Storage(str(VECTORS / "storage"))

# --- protocol doc §5.7 --------------------------------------------------------------------------

DOC_REPO_ID = "8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e"
DOC_PASSWORD = "correct horse"
DOC_SECRET = bytes(range(32))
DOC_SALT = bytes.fromhex("00112233445566778899aabbccddeeff" * 2)
DOC_CHUNK = b"hello world\n"
V34_KEY = "f0f17698844b7140ec1bba7ec1ff92ccb071f0133f4df52b859577ae266e0ff0"
V34_IV = "e93a4dab9aaf18149acde96fbf53132d"
# enc_version: (magic, random_key, block key, block iv, ciphertext, block id or None)
DOC_VECTORS = {
    1: ("aef32538501610ceb5bc6681e07df712", "", "9c9196faaf6111c738659e44e36516f7",
        "8a7625a78ab4254387e7887159039997", "a35c26b477c73deba44e0a8633aff469", None),
    2: ("4300caff43a58e09ffe24630e60dfadc85aea418d2c732b4faa35a0e7d329d84",
        "f9e04b516562281ee6b2efc68b1616744a885fe6d5e40364a1aa7cd1c72bf23d"
        "c71fcc782cd8fdd713b378c01893cb2a",
        "a4f90f3f95c10ea5ef1d22ca6972801f400e5d8bb5d50839f80b92fd1e0904e7",
        "ff20f474623e2a6a24da0051a0b42457", "79a4bf4a7852d17f461cbbbfe16b9a8a",
        "91dd2a03d2c1075d67da056b8a7c536f503aa079"),
    3: ("099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf",
        "62ba1b595ffa16673079d58c7fffae7077d8dafc0f40932417bb91406add7f2c"
        "d8c85f07fc4adb54b0fbb953cadc2815", V34_KEY, V34_IV,
        "ee295582d679d774ab67171d75e778e6", "af55b93c36a159178c977e6cff2671fb8909281b"),
    4: ("099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf",
        "86db05a5ac1b25fb6d18bfbb3449bdd4f4054b5eaaaba7352c21f467fc4cc868"
        "84080bfdd88bae66c777bcc9be127a8a", V34_KEY, V34_IV,
        "85eb7fdb714f0c231512e617730c204a", "81621907a000e53065ebf7a6d0118967aeab4051"),
}


@pytest.mark.parametrize("version", sorted(DOC_VECTORS))
def test_doc_vectors(version):
    magic, random_key, key, iv, ciphertext, block_id = DOC_VECTORS[version]
    params = crypto.new_parameters(DOC_REPO_ID, DOC_PASSWORD, version, secret=DOC_SECRET,
                                   salt=DOC_SALT)
    assert (params["magic"], params["random_key"]) == (magic, random_key)
    assert params["salt"] == (DOC_SALT.hex() if version >= 3 else "")
    assert params["pwd_hash"] == ""
    file_key = crypto.file_key(params, DOC_PASSWORD)
    assert file_key.key.hex().startswith(key) and file_key.iv.hex() == iv
    block = crypto.encrypt_block(file_key, DOC_CHUNK)
    assert block.hex() == ciphertext
    if block_id:
        assert hashlib.sha1(block).hexdigest() == block_id
    assert crypto.decrypt_block(file_key, block) == DOC_CHUNK
    assert crypto.verify_password(DOC_REPO_ID, params, DOC_PASSWORD)
    assert not crypto.verify_password(DOC_REPO_ID, params, DOC_PASSWORD + " ")


@pytest.mark.parametrize("version,algo,params,expected", [
    (4, "pbkdf2_sha256", "1000", "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf"),
    (2, "pbkdf2_sha256", "1000", "a62394e5ae170e2d07f1a1378b759a898598f451dd4a209f022c9fd96dd6c268"),
    (4, "argon2id", "2,102400,8", "cdb0ecdfd57daca0dbe09a82aab9e42797e7518611218f7e61b13f386caf99f8"),
    # the fallbacks: empty / non-positive pbkdf2 params mean 1000, any other algo means pbkdf2
    (4, "pbkdf2_sha256", "", "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf"),
    (4, "pbkdf2_sha256", "-3", "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf"),
    (4, "sha3_whatever", "1000", "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf"),
    # argon2id: wrong field count -> all defaults; non-positive fields -> their default
    (4, "argon2id", "2,102400", "cdb0ecdfd57daca0dbe09a82aab9e42797e7518611218f7e61b13f386caf99f8"),
    (4, "argon2id", "0, 102400 ,-1", "cdb0ecdfd57daca0dbe09a82aab9e42797e7518611218f7e61b13f386caf99f8"),
])
def test_doc_pwd_hash_vectors(version, algo, params, expected):
    salt = DOC_SALT.hex() if version >= 3 else ""
    assert crypto.pwd_hash(DOC_REPO_ID, DOC_PASSWORD, version, salt, algo, params) == expected


def test_pwd_hash_parameter_parsing():
    assert crypto.pbkdf2_iterations("2500") == 2500
    assert crypto.pbkdf2_iterations(" 77abc") == 77  # atoi
    assert crypto.pbkdf2_iterations("abc") == 1000
    assert crypto.argon2id_costs("3,8192,2") == (3, 8192, 2)
    assert crypto.argon2id_costs("3,0,2") == (3, 102400, 2)
    assert crypto.argon2id_costs("1,2,3,4") == (2, 102400, 8)
    assert crypto.argon2id_costs("") == (2, 102400, 8)


def test_bad_parameters_are_refused():
    with pytest.raises(crypto.EncryptionError):
        crypto.new_parameters(DOC_REPO_ID, "pw", 5)
    with pytest.raises(crypto.EncryptionError):
        crypto.new_parameters(DOC_REPO_ID, "pw", 4, pwd_hash_algo="md5")
    with pytest.raises(crypto.EncryptionError):
        crypto.file_key({"enc_version": 4, "salt": "00" * 8, "random_key": "00" * 48}, "pw")
    with pytest.raises(crypto.EncryptionError):
        crypto.file_key({"enc_version": 2, "random_key": "abc"}, "pw")
    with pytest.raises(crypto.EncryptionError):
        crypto.decrypt_block(crypto.FileKey(2, bytes(32), bytes(16)), b"x" * 15)


# --- the real server's encrypted libraries ----------------------------------------------------

def decrypted_tree(storage, repo_id, root_id, file_key):
    """{path: plaintext} of every file below root_id, each block checked against its id and each
    file against its size."""
    files = {}
    for path, dirent in builder.tree_entries(storage, repo_id, root_id).items():
        if dirent.is_dir:
            continue
        data = b""
        if dirent.size:
            seaf_file = parse_stored_fs_object(storage.read("fs", repo_id, dirent.id))
            assert isinstance(seaf_file, SeafFile) and seaf_file.size == dirent.size
            for block_id in seaf_file.block_ids:
                block = storage.read("blocks", repo_id, block_id)
                assert hashlib.sha1(block).hexdigest() == block_id
                data += crypto.decrypt_block(file_key, block)
        assert len(data) == dirent.size, path
        files[path.lstrip("/")] = data
    return files


def head_commit(storage, repo_id, head):
    raw = storage.read("commits", repo_id, head)
    return json.loads(raw), Commit.from_json(raw)


@pytest.mark.parametrize("name", sorted(FILE_KEYS))
def test_vector_library_file_key_from_password(name):
    repo = REPOS[name]
    commit, _ = head_commit(STORAGE, repo["repo_id"], repo["head_commit_id"])
    params = crypto.parameters_from_commit(commit)
    assert params["enc_version"] == repo["enc_version"]
    assert (params["magic"], params["random_key"], params["salt"]) == (
        repo["magic"], repo["random_key"], repo["salt"])
    assert crypto.verify_password(repo["repo_id"], params, repo["password"])
    assert not crypto.verify_password(repo["repo_id"], params, "S3cret")
    file_key = crypto.file_key(params, repo["password"])
    assert (file_key.key.hex(), file_key.iv.hex()) == FILE_KEYS[name]


@pytest.mark.parametrize("name", sorted(FILE_KEYS))
def test_vector_library_decrypts_to_plain(name):
    repo = REPOS[name]
    repo_id = repo["repo_id"]
    commit, _ = head_commit(STORAGE, repo_id, repo["head_commit_id"])
    file_key = crypto.file_key(crypto.parameters_from_commit(commit), repo["password"])
    files = decrypted_tree(STORAGE, repo_id, commit["root_id"], file_key)
    plain_root = VECTORS / "plain" / name
    plain = {str(p.relative_to(plain_root)): p.read_bytes()
             for p in plain_root.rglob("*") if p.is_file()}
    assert files == plain and len(files) == repo["file_count"]
    # every stored block of the library (all of its history) is a valid ciphertext
    blocks = sorted((VECTORS / "storage" / "blocks" / repo_id).glob("*/*"))
    assert blocks
    for path in blocks:
        block = path.read_bytes()
        assert len(block) % 16 == 0
        crypto.decrypt_block(file_key, block)


def test_vector_commits_serialize_byte_exact():
    """The commit objects of the encrypted vector libraries parse and serialize to the same
    bytes, so the builder's commits (same serializer) have the real field order and types."""
    for name in FILE_KEYS:
        repo_id = REPOS[name]["repo_id"]
        commits = sorted((VECTORS / "storage" / "commits" / repo_id).glob("*/*"))
        assert commits
        for path in commits:
            raw = path.read_bytes()
            assert Commit.from_json(raw).to_json() == raw


# --- libraries made by the builder ------------------------------------------------------------

USER = "user@example.com"
PASSWORD = "s3cret"
BLOCK_SIZE = 1000  # fixed-size blocks: multi-block files stay small, 1000 % 16 != 0
CONTENT = {
    "marker.txt": b"SEAFS-PLAINTEXT-MARKER-0123456789\n" * 40,
    "empty.txt": b"",
    "sizes/15.bin": bytes(range(15)),
    "sizes/16.bin": bytes(range(16)),
    "sizes/17.bin": bytes(range(17)),
    "nested/deeper/multi.bin": bytes((i * 7 + 3) % 251 for i in range(3500)),
}
# name: (enc_version, pwd_hash_algo, pwd_hash_params)
BUILT = {
    "v1": (1, None, None),
    "v2": (2, None, None),
    "v3": (3, None, None),
    "v4": (4, None, None),
    "v2 pbkdf2": (2, "pbkdf2_sha256", "2000"),
    "v4 pbkdf2": (4, "pbkdf2_sha256", "1000"),
    "v4 argon2": (4, "argon2id", "2,8192,2"),
}


def write_tree(root, content):
    for rel, data in content.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def build(data_dir, name, src, **kwargs):
    version, algo, params = BUILT[name]
    return builder.create_library(
        str(data_dir), name, USER, str(src), repo_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "seafs-test/" + name)), ctime=1767225600,
        mtime=1764547200, password=PASSWORD, enc_version=version, pwd_hash_algo=algo,
        pwd_hash_params=params, seed=name, block_size=BLOCK_SIZE, **kwargs)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A data directory holding every BUILT library with CONTENT: (data dir, {name: repo id})."""
    data = tmp_path_factory.mktemp("crypto-built")
    src = write_tree(tmp_path_factory.mktemp("crypto-src"), CONTENT)
    builder.add_account(str(data), USER, "secret")
    return data, {name: build(data, name, src) for name in BUILT}


def library_state(data, repo_id):
    return json.loads((data / "state.json").read_text())["libraries"][repo_id]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_commit_has_the_real_encryption_fields(built, name):
    data, ids = built
    version, algo, hash_params = BUILT[name]
    repo_id = ids[name]
    storage = builder.storage_for(str(data))
    library = library_state(data, repo_id)
    commit, parsed = head_commit(storage, repo_id, library["head"])
    expected_keys = ["encrypted", "enc_version"] + (["magic"] if algo is None else []) + (
        ["key"] if version >= 2 else []) + (["salt"] if version >= 3 else []) + (
        ["pwd_hash", "pwd_hash_algo", "pwd_hash_params"] if algo else [])
    keys = list(commit)
    assert keys[keys.index("repo_category") + 1:] == expected_keys + ["no_local_history",
                                                                      "version"]
    assert commit["encrypted"] == "true" and commit["enc_version"] == version
    assert len(commit.get("magic", "")) == (0 if algo else 32 if version == 1 else 64)
    assert len(commit.get("key", "")) == (96 if version >= 2 else 0)
    assert len(commit.get("salt", "")) == (64 if version >= 3 else 0)
    if algo:
        assert (commit["pwd_hash_algo"], commit["pwd_hash_params"]) == (algo, hash_params)
        assert len(commit["pwd_hash"]) == 64
    # the first commit carries the same fields; the state record matches the commit
    first, _ = head_commit(storage, repo_id, commit["parent_id"])
    assert first["description"] == "Created library"
    assert {k: first[k] for k in expected_keys} == {k: commit[k] for k in expected_keys}
    params = crypto.parameters_from_commit(commit)
    assert library["encrypted"] is True
    assert {k: library[k] for k in crypto.PARAMETER_FIELDS} == params
    assert parsed.to_json() == storage.read("commits", repo_id, library["head"])


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_library_checks_its_password_and_decrypts(built, name):
    data, ids = built
    repo_id = ids[name]
    storage = builder.storage_for(str(data))
    commit, _ = head_commit(storage, repo_id, library_state(data, repo_id)["head"])
    params = crypto.parameters_from_commit(commit)
    assert crypto.verify_password(repo_id, params, PASSWORD)
    assert not crypto.verify_password(repo_id, params, "wrong")
    file_key = crypto.file_key(params, PASSWORD)
    assert decrypted_tree(storage, repo_id, commit["root_id"], file_key) == CONTENT
    entries = builder.tree_entries(storage, repo_id, commit["root_id"])
    multi = parse_stored_fs_object(storage.read("fs", repo_id,
                                                entries["/nested/deeper/multi.bin"].id))
    assert len(multi.block_ids) == 4 and multi.size == 3500
    sizes = [len(storage.read("blocks", repo_id, b)) for b in multi.block_ids]
    assert sizes == [1008, 1008, 1008, 512]  # PKCS#7: 16 * (n // 16 + 1)
    marker = CONTENT["marker.txt"][:33]
    for block_id in multi.block_ids + [parse_stored_fs_object(storage.read(
            "fs", repo_id, entries["/marker.txt"].id)).block_ids[0]]:
        assert marker not in storage.read("blocks", repo_id, block_id)


def test_seed_makes_encrypted_libraries_reproducible(tmp_path):
    src = write_tree(tmp_path / "src", CONTENT)
    heads = []
    for run in ("a", "b"):
        data = tmp_path / run
        repo_id = build(data, "v4 pbkdf2", src)
        heads.append((repo_id, library_state(data, repo_id)["head"],
                      library_state(data, repo_id)["random_key"]))
    assert heads[0] == heads[1]
    other = builder.create_library(str(tmp_path / "c"), "x", USER, str(src),
                                   repo_id=heads[0][0], ctime=1767225600, mtime=1764547200,
                                   password=PASSWORD, enc_version=4, seed="another seed")
    assert library_state(tmp_path / "c", other)["random_key"] != heads[0][2]


def test_commit_on_top_keeps_encryption_and_needs_the_password(tmp_path):
    data = tmp_path / "data"
    src = write_tree(tmp_path / "src", CONTENT)
    repo_id = build(data, "v3", src)
    changed = write_tree(tmp_path / "changed", dict(CONTENT, **{"new.txt": b"new plaintext 17b"}))
    with pytest.raises(builder.BuildError, match="password is needed"):
        builder.commit_directory(str(data), repo_id, str(changed))
    with pytest.raises(builder.BuildError, match="wrong password"):
        builder.commit_directory(str(data), repo_id, str(changed), password="nope")
    before = library_state(data, repo_id)["head"]
    head = builder.commit_directory(str(data), repo_id, str(changed), password=PASSWORD,
                                    block_size=BLOCK_SIZE, ctime=1767229200)
    storage = builder.storage_for(str(data))
    old, _ = head_commit(storage, repo_id, before)
    new, _ = head_commit(storage, repo_id, head)
    assert new["parent_id"] == before
    fields = ("encrypted", "enc_version", "magic", "key", "salt")
    assert {k: new[k] for k in fields} == {k: old[k] for k in fields}
    file_key = crypto.file_key(crypto.parameters_from_commit(new), PASSWORD)
    assert decrypted_tree(storage, repo_id, new["root_id"], file_key)["new.txt"] == \
        b"new plaintext 17b"


# --- what the server tells clients about them -------------------------------------------------

def api_headers(server):
    status, _r, _h, body = send(server.port, "POST", "/api2/auth-token/",
                                {"Content-Type": "application/x-www-form-urlencoded"},
                                b"username=user%40example.com&password=secret")
    assert status == 200
    return {"Authorization": "Token " + json.loads(body)["token"],
            "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def built_server(built):
    data, ids = built
    server = SeafServer(str(data))
    server.start()
    try:
        yield server, api_headers(server), ids
    finally:
        server.stop()


def api_get(server, headers, path):
    status, _r, _h, body = send(server.port, "GET", path, headers)
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_seahub_encryption_fields_match_the_commit(built_server, name):
    server, headers, ids = built_server
    repo_id = ids[name]
    version, algo, _ = BUILT[name]
    info = api_get(server, headers, "/api2/repos/%s/" % repo_id)
    listed = [e for e in api_get(server, headers, "/api2/repos/") if e["id"] == repo_id]
    download = api_get(server, headers, "/api2/repos/%s/download-info/" % repo_id)
    client = SyncClient(server.port, repo_id, download["token"])
    commit = client.commit(client.head())
    params = crypto.parameters_from_commit(commit)
    assert len(listed) == 1
    assert info["encrypted"] is True and listed[0]["encrypted"] is True
    assert download["encrypted"] == 1
    for answer in (info, listed[0], download):
        assert answer["enc_version"] == version
        assert (answer["magic"], answer["random_key"]) == (params["magic"], params["random_key"])
        assert answer["salt"] == params["salt"]
        for key in ("pwd_hash", "pwd_hash_algo", "pwd_hash_params"):
            assert answer.get(key, "") == params[key]
    # a client decrypts what the file server sends
    file_key = crypto.file_key(params, PASSWORD)
    marker = client.tree(client.head())["marker.txt"]
    blocks = [client.call("GET", "block/" + block_id)[1]
              for block_id in client.objects[marker["id"]]["block_ids"]]
    assert len(blocks) == 2 and marker["size"] == len(CONTENT["marker.txt"])
    assert b"".join(crypto.decrypt_block(file_key, b) for b in blocks) == CONTENT["marker.txt"]


def test_rename_keeps_the_pwd_hash_fields(tmp_path):
    data = tmp_path / "data"
    repo_id = build(data, "v4 argon2", write_tree(tmp_path / "src", CONTENT))
    builder.add_account(str(data), USER, "secret")
    before = library_state(data, repo_id)
    with SeafServer(str(data)) as server:
        headers = api_headers(server)
        status, _r, _h, body = send(server.port, "POST", "/api2/repos/%s/?op=rename" % repo_id,
                                    headers, b"repo_name=Vault")
        assert (status, json.loads(body)) == (200, "success")
        download = api_get(server, headers, "/api2/repos/%s/download-info/" % repo_id)
        client = SyncClient(server.port, repo_id, download["token"])
        commit = client.commit(client.head())
    assert commit["repo_name"] == "Vault" and commit["parent_id"] == before["head"]
    assert crypto.parameters_from_commit(commit) == {
        k: before[k] for k in crypto.PARAMETER_FIELDS}
    assert download["pwd_hash_algo"] == "argon2id" and download["magic"] == ""


# --- the encrypted demo libraries -------------------------------------------------------------

@pytest.fixture(scope="module")
def encrypted_demo(tmp_path_factory):
    """(data dir of the small demo as cached by mount_fixture.demo_data, with its encrypted
    libraries; a dir with each encrypted library's plaintext source tree)."""
    data, _ = mount_fixture.demo_data(small=True)
    sources = tmp_path_factory.mktemp("encrypted-demo-sources")
    for name in demo.encrypted_library_names(small=True):
        demo.write_source(name, sources / name)
    return data, sources


@pytest.mark.parametrize("name", demo.encrypted_library_names(small=True))
def test_encrypted_demo_library_decrypts_to_its_source(encrypted_demo, name):
    data, sources = encrypted_demo
    repo_id = demo.demo_repo_id(name)
    version, algo, hash_params, _, _ = demo.ENCRYPTED_LIBRARIES[name]
    storage = builder.storage_for(str(data))
    commit, _ = head_commit(storage, repo_id, library_state(data, repo_id)["head"])
    params = crypto.parameters_from_commit(commit)
    assert (params["enc_version"], params["pwd_hash_algo"] or None,
            params["pwd_hash_params"] or None) == (version, algo, hash_params)
    assert crypto.verify_password(repo_id, params, demo.DEMO_PASSWORD)
    files = decrypted_tree(storage, repo_id, commit["root_id"],
                           crypto.file_key(params, demo.DEMO_PASSWORD))
    source = sources / name
    assert files == {str(p.relative_to(source)): p.read_bytes()
                     for p in source.rglob("*") if p.is_file()}
    assert demo.MARKER in files["marker.txt"]
    assert sorted(len(files[f"sizes/size-{n:02d}.bin"]) for n in (0, 1, 15, 16, 17, 31, 32, 33)) \
        == [0, 1, 15, 16, 17, 31, 32, 33]
    entries = builder.tree_entries(storage, repo_id, commit["root_id"])
    multi = parse_stored_fs_object(storage.read("fs", repo_id, entries["/multi-block.bin"].id))
    block_sizes = [len(storage.read("blocks", repo_id, b)) for b in multi.block_ids]
    assert multi.size == demo.MULTI_BLOCK_SIZE
    assert block_sizes == [16 * (n // 16 + 1) for n in (7066363, 10485760, 8435079, 239543)]
    assert entries["/nested/empty-dir"].is_dir


def test_encrypted_demo_blocks_hold_no_plaintext(encrypted_demo):
    data, _ = encrypted_demo
    names = demo.encrypted_library_names(small=True)
    blocks = [p for name in names
              for p in (data / "storage" / "blocks" / demo.demo_repo_id(name)).rglob("*")
              if p.is_file()]
    assert len(blocks) > 4 * len(names)
    for path in blocks:
        assert demo.MARKER not in path.read_bytes()
