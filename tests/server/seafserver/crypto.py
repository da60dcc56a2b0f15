"""Library encryption parameters as seaf-server creates them for a password (enc_version 2,
protocol doc §5 and vectors INDEX.md "Encryption"): magic = derive(repo_id + password).key,
random_key = AES-256-CBC(derive(password)) of a random 32-byte secret with PKCS#7 padding."""
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

V2_SALT = bytes.fromhex("da9045c306c7cc26")
KEY_ITERATIONS = 1000
IV_ITERATIONS = 10


def derive(data, salt=V2_SALT):
    """(key[32], iv[16]) = PBKDF2-HMAC-SHA256 as Seafile's seafile_derive_key."""
    key = hashlib.pbkdf2_hmac("sha256", data, salt, KEY_ITERATIONS, 32)
    iv = hashlib.pbkdf2_hmac("sha256", key, salt, IV_ITERATIONS, 16)
    return key, iv


def _aes_cbc(key, iv, data, encrypt):
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(128).padder()
        data = padder.update(data) + padder.finalize()
        ctx = cipher.encryptor()
        return ctx.update(data) + ctx.finalize()
    ctx = cipher.decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = ctx.update(data) + ctx.finalize()
    return unpadder.update(plain) + unpadder.finalize()


def magic(repo_id, password):
    return derive((repo_id + password).encode("utf-8"))[0].hex()


def v2_parameters(repo_id, password, secret=None):
    """{"enc_version", "magic", "random_key", "salt"} of a new enc v2 library."""
    secret = os.urandom(32) if secret is None else secret
    key, iv = derive(password.encode("utf-8"))
    return {"enc_version": 2, "magic": magic(repo_id, password),
            "random_key": _aes_cbc(key, iv, secret, encrypt=True).hex(), "salt": ""}


def v2_file_key(random_key, password):
    """(key, iv) used for the blocks of an enc v2 library."""
    key, iv = derive(password.encode("utf-8"))
    return derive(_aes_cbc(key, iv, bytes.fromhex(random_key), encrypt=False))
