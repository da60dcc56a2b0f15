"""Seafile library encryption, enc_version 1 to 4, as the real server and clients do it (protocol
doc §5, vectors INDEX.md "Encryption"): the parameters of a new encrypted library (magic or
pwd_hash, random_key, salt), password verification, the file key of a library from its password,
and block encryption/decryption.

Parameters are a dict shaped like the server state and the commit: {"enc_version", "magic",
"random_key", "salt", "pwd_hash", "pwd_hash_algo", "pwd_hash_params"}, "" for what a version or
a library does not have (v1: no random_key; v1/v2: no salt; pwd_hash libraries: no magic).
"""
import collections
import hashlib
import os

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FIXED_SALT = bytes.fromhex("da9045c306c7cc26")  # v1, v2
KEY_ITERATIONS = 1000
IV_ITERATIONS = 10
V1_ITERATIONS = 1 << 19
ENC_VERSIONS = (1, 2, 3, 4)
SECRET_SIZE = 32
SALT_SIZE = 32

PBKDF2_SHA256 = "pbkdf2_sha256"
ARGON2ID = "argon2id"
PBKDF2_DEFAULT_ITERATIONS = 1000
ARGON2ID_DEFAULTS = (2, 102400, 8)  # time cost, memory in KiB, parallelism
ARGON2_VERSION = 0x13
PARAMETER_FIELDS = ("enc_version", "magic", "random_key", "salt", "pwd_hash", "pwd_hash_algo",
                    "pwd_hash_params")

# What encrypts the blocks of a library: enc_version, AES key (16 bytes used by v1 and v3), IV.
FileKey = collections.namedtuple("FileKey", "version key iv")


class EncryptionError(ValueError):
    """Encryption parameters are invalid, or the password does not open the library."""


def _check_version(version):
    if version not in ENC_VERSIONS:
        raise EncryptionError(f"unsupported enc_version {version!r}")


def bytes_to_key_sha1(data, salt=FIXED_SALT, count=V1_ITERATIONS):
    """OpenSSL EVP_BytesToKey(AES-128-CBC, SHA-1, salt, data, count): (key[16], iv[16])."""
    derived = b""
    previous = b""
    while len(derived) < 32:
        digest = previous + data + salt
        for _ in range(count):
            digest = hashlib.sha1(digest).digest()
        derived += digest
        previous = digest
    return derived[:16], derived[16:32]


def derive(data, salt=FIXED_SALT):
    """(key[32], iv[16]) = PBKDF2-HMAC-SHA256 as Seafile's seafile_derive_key for v2 to v4."""
    key = hashlib.pbkdf2_hmac("sha256", data, salt, KEY_ITERATIONS, 32)
    iv = hashlib.pbkdf2_hmac("sha256", key, salt, IV_ITERATIONS, 16)
    return key, iv


def library_salt(version, salt_hex):
    """The KDF salt of a library: the fixed 8 bytes (v1, v2) or its own 32 bytes (v3, v4)."""
    _check_version(version)
    if version < 3:
        return FIXED_SALT
    try:
        salt = bytes.fromhex(salt_hex or "")
    except ValueError:
        salt = b""
    if len(salt) != SALT_SIZE:
        raise EncryptionError(f"enc_version {version} needs a 64-hex salt, not {salt_hex!r}")
    return salt


def derive_for(version, data, salt):
    """(key, iv) of `data` for an enc_version: EVP_BytesToKey for v1, PBKDF2 otherwise."""
    if version == 1:
        return bytes_to_key_sha1(data, salt)
    return derive(data, salt)


def _cipher(version, key, iv):
    if version == 1:
        return Cipher(algorithms.AES(key[:16]), modes.CBC(iv))
    if version == 3:
        return Cipher(algorithms.AES(key[:16]), modes.ECB())
    return Cipher(algorithms.AES(key[:32]), modes.CBC(iv))


def encrypt(version, key, iv, data):
    """The version's cipher over data with PKCS#7 padding (always at least one pad byte)."""
    padder = padding.PKCS7(128).padder()
    ctx = _cipher(version, key, iv).encryptor()
    return ctx.update(padder.update(data) + padder.finalize()) + ctx.finalize()


def decrypt(version, key, iv, data):
    """Inverse of encrypt; EncryptionError when the length or the padding is wrong."""
    if not data or len(data) % 16:
        raise EncryptionError(f"ciphertext length {len(data)} is not a positive multiple of 16")
    ctx = _cipher(version, key, iv).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(ctx.update(data) + ctx.finalize()) + unpadder.finalize()
    except ValueError as exc:
        raise EncryptionError("bad padding after decryption (wrong key?)") from exc


def encrypt_block(file_key, chunk):
    """The stored block of a plaintext chunk (its id is the SHA-1 of these bytes)."""
    return encrypt(file_key.version, file_key.key, file_key.iv, chunk)


def decrypt_block(file_key, block):
    return decrypt(file_key.version, file_key.key, file_key.iv, block)


# --- pwd_hash ----------------------------------------------------------------------------------

def _atoll(text):
    """C atoi/atoll: leading whitespace, optional sign, digits; 0 when there are none."""
    text = text.lstrip(" \t\n\v\f\r")
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in "+-":
        text = text[1:]
    digits = len(text) - len(text.lstrip("0123456789"))
    return sign * int(text[:digits]) if digits else 0


def pbkdf2_iterations(params):
    """Iterations of a pbkdf2_sha256 pwd_hash: atoi(params), 1000 when empty or not positive."""
    iterations = _atoll(params or "")
    return iterations if iterations > 0 else PBKDF2_DEFAULT_ITERATIONS


def argon2id_costs(params):
    """(time cost, memory KiB, parallelism) of an argon2id pwd_hash "t,m,p": all defaults unless
    there are exactly three fields; each non-positive field replaced by its default."""
    fields = (params or "").split(",")
    if not params or len(fields) != 3:
        return ARGON2ID_DEFAULTS
    return tuple(value if value > 0 else default
                 for value, default in zip((_atoll(f.strip()) for f in fields), ARGON2ID_DEFAULTS))


def pwd_hash_salt(version, salt_hex):
    """The 32-byte pwd_hash salt: the library salt (v3, v4), else the fixed salt + 24 zeros."""
    salt = library_salt(version, salt_hex)
    return salt.ljust(SALT_SIZE, b"\0")


def pwd_hash(repo_id, password, version, salt_hex, algo, params):
    """hex(H(repo_id + password, salt32)); any algo other than argon2id means pbkdf2_sha256."""
    data = (repo_id + password).encode("utf-8")
    salt = pwd_hash_salt(version, salt_hex)
    if algo == ARGON2ID:
        time_cost, memory_cost, parallelism = argon2id_costs(params)
        return hash_secret_raw(data, salt, time_cost=time_cost, memory_cost=memory_cost,
                               parallelism=parallelism, hash_len=32, type=Type.ID,
                               version=ARGON2_VERSION).hex()
    return hashlib.pbkdf2_hmac("sha256", data, salt, pbkdf2_iterations(params), 32).hex()


# --- library parameters ------------------------------------------------------------------------

def magic(repo_id, password, version=2, salt_hex=""):
    """hex of derive(repo_id + password).key: 32 hex for v1, 64 for v2 to v4."""
    key, _iv = derive_for(version, (repo_id + password).encode("utf-8"),
                          library_salt(version, salt_hex))
    return key.hex()


def _password_key(version, password, salt):
    return derive_for(version, password.encode("utf-8"), salt)


def new_parameters(repo_id, password, enc_version=2, pwd_hash_algo=None, pwd_hash_params=None,
                   secret=None, salt=None):
    """Encryption parameters of a new library. secret (32 bytes) and salt (32 bytes, v3/v4) are
    random unless given (give them for reproducible libraries). With pwd_hash_algo the library
    gets pwd_hash/pwd_hash_algo/pwd_hash_params instead of magic (params default as Seafile:
    "1000" for pbkdf2_sha256, "2,102400,8" for argon2id)."""
    _check_version(enc_version)
    if pwd_hash_algo not in (None, PBKDF2_SHA256, ARGON2ID):
        raise EncryptionError(f"unknown pwd_hash_algo {pwd_hash_algo!r}")
    params = dict.fromkeys(PARAMETER_FIELDS, "")
    params["enc_version"] = enc_version
    if enc_version >= 3:
        salt = os.urandom(SALT_SIZE) if salt is None else salt
        if len(salt) != SALT_SIZE:
            raise EncryptionError("the library salt must be 32 bytes")
        params["salt"] = salt.hex()
    kdf_salt = library_salt(enc_version, params["salt"])
    if enc_version >= 2:
        secret = os.urandom(SECRET_SIZE) if secret is None else secret
        if len(secret) != SECRET_SIZE:
            raise EncryptionError("the library secret must be 32 bytes")
        key, iv = _password_key(enc_version, password, kdf_salt)
        params["random_key"] = encrypt(enc_version, key, iv, secret).hex()
    if pwd_hash_algo is None:
        params["magic"] = magic(repo_id, password, enc_version, params["salt"])
    else:
        if pwd_hash_params is None:
            pwd_hash_params = (str(PBKDF2_DEFAULT_ITERATIONS) if pwd_hash_algo == PBKDF2_SHA256
                               else ",".join(map(str, ARGON2ID_DEFAULTS)))
        params.update(pwd_hash_algo=pwd_hash_algo, pwd_hash_params=pwd_hash_params,
                      pwd_hash=pwd_hash(repo_id, password, enc_version, params["salt"],
                                        pwd_hash_algo, pwd_hash_params))
    return params


def verify_password(repo_id, params, password):
    """True when password opens the library: pwd_hash when the library has one, else magic."""
    version = params["enc_version"]
    if params.get("pwd_hash"):
        expected = pwd_hash(repo_id, password, version, params.get("salt", ""),
                            params.get("pwd_hash_algo", ""), params.get("pwd_hash_params", ""))
        return expected == params["pwd_hash"]
    return magic(repo_id, password, version, params.get("salt", "")) == params.get("magic")


def file_key(params, password):
    """The FileKey of a library: v1 derives it from the password, v2 to v4 from the 32-byte
    secret unwrapped from random_key. EncryptionError when the unwrapping fails (which a wrong
    password usually, but not always, causes: check verify_password first)."""
    version = params["enc_version"]
    salt = library_salt(version, params.get("salt", ""))
    key, iv = _password_key(version, password, salt)
    if version == 1:
        return FileKey(1, key, iv)
    try:
        wrapped = bytes.fromhex(params.get("random_key") or "")
    except ValueError:
        wrapped = b""
    if len(wrapped) != 48:
        raise EncryptionError("random_key must be 96 hex characters")
    secret = decrypt(version, key, iv, wrapped)
    if len(secret) != SECRET_SIZE:
        raise EncryptionError("random_key does not hold a 32-byte secret (wrong password?)")
    return FileKey(version, *derive(secret, salt))


def commit_fields(params):
    """The encryption members of a commit (objects.Commit keyword arguments) for parameters:
    encrypted, enc_version, magic or pwd_hash*, key (v2+), salt (v3+); {} for no parameters."""
    if not params:
        return {}
    fields = {"encrypted": True, "enc_version": params["enc_version"]}
    for commit_key, param_key in (("magic", "magic"), ("key", "random_key"), ("salt", "salt"),
                                  ("pwd_hash", "pwd_hash"), ("pwd_hash_algo", "pwd_hash_algo"),
                                  ("pwd_hash_params", "pwd_hash_params")):
        if params.get(param_key):
            fields[commit_key] = params[param_key]
    return fields


def state_fields(params):
    """The encryption members of a library's state.json record ({} parameters: plain)."""
    fields = dict.fromkeys(PARAMETER_FIELDS, "")
    fields.update(params or {}, encrypted=bool(params))
    fields["enc_version"] = fields["enc_version"] or 0
    return fields


def parameters_from_commit(commit):
    """Parameters of an encrypted commit given as its JSON members (a dict), {} for a plain one."""
    if commit.get("encrypted") != "true":
        return {}
    return {"enc_version": commit.get("enc_version", 0), "magic": commit.get("magic", ""),
            "random_key": commit.get("key", ""), "salt": commit.get("salt", ""),
            "pwd_hash": commit.get("pwd_hash", ""),
            "pwd_hash_algo": commit.get("pwd_hash_algo", ""),
            "pwd_hash_params": commit.get("pwd_hash_params", "")}


# --- the enc v2 API the Seahub library creation uses -------------------------------------------

def v2_parameters(repo_id, password, secret=None):
    """{"enc_version", "magic", "random_key", "salt"} of a new enc v2 library."""
    params = new_parameters(repo_id, password, 2, secret=secret)
    return {key: params[key] for key in ("enc_version", "magic", "random_key", "salt")}

