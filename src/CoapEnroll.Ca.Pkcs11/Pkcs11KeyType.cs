namespace CoapEnroll.Ca.Pkcs11;

/// <summary>The kind of key <c>coapenroll ca init</c> generates on the token (<c>Ca:Pkcs11:KeyType</c>).</summary>
public enum Pkcs11KeyType
{
    /// <summary>ECDSA on NIST P-256, signing with SHA-256.</summary>
    EcP256,

    /// <summary>ECDSA on NIST P-384, signing with SHA-384.</summary>
    EcP384,

    /// <summary>RSA with a 2048-bit modulus.</summary>
    Rsa2048,

    /// <summary>RSA with a 3072-bit modulus.</summary>
    Rsa3072,
}
