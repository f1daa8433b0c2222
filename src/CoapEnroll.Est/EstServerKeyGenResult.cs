using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est;

/// <summary>The answer to /skg or /skc (RFC 9148 §4.8): the server-generated key and its certificate.</summary>
public sealed class EstServerKeyGenResult
{
    /// <summary>The issued certificate with the server-generated private key attached.</summary>
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>The PKCS#8 PrivateKeyInfo DER (RFC 5958) as received (decrypted when it came as 280).</summary>
    public required byte[] Pkcs8PrivateKey { get; init; }

    /// <summary>True when the key came CMS-encrypted (Content-Format 280).</summary>
    public bool KeyWasEncrypted { get; init; }

    /// <summary>The Content-Format of the certificate part: 281 for /skg, 287 for /skc.</summary>
    public int CertificateContentFormat { get; init; }
}
