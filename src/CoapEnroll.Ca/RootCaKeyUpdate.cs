using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// A root CA key update (RFC 9810 §4.4): the new self-signed root (newWithNew) and the two link certificates, the new public key
/// signed with the old root key (newWithOld: lets holders of the old root trust the new one) and the old public key signed with the
/// new root key (oldWithNew: lets holders of only the new root verify what the old key signed). The old root stays a trust anchor
/// until it expires; the issuing CA is not touched (its certificate, signed with the old key, verifies under the new root through
/// oldWithNew).
/// </summary>
public sealed class RootCaKeyUpdate
{
    private RootCaKeyUpdate(X509Certificate2 oldWithOld, X509Certificate2 newWithNew, X509Certificate2 newWithOld, X509Certificate2 oldWithNew)
    {
        OldWithOld = oldWithOld;
        NewWithNew = newWithNew;
        NewWithOld = newWithOld;
        OldWithNew = oldWithNew;
    }

    /// <summary>The old root CA certificate, the one the update replaces.</summary>
    public X509Certificate2 OldWithOld { get; }

    /// <summary>The new root CA certificate, self-signed with the new key.</summary>
    public X509Certificate2 NewWithNew { get; }

    /// <summary>The new root's public key and name, signed with the old root key.</summary>
    public X509Certificate2 NewWithOld { get; }

    /// <summary>The old root's public key and name, signed with the new root key.</summary>
    public X509Certificate2 OldWithNew { get; }

    /// <summary>
    /// Creates the update of <paramref name="oldRoot"/> (with its private key) to <paramref name="newKey"/>: newWithNew with the old
    /// root's name and as long a validity as the old root had, from <paramref name="now"/>; newWithOld valid until the old root
    /// expires; oldWithNew from now until the old root expires (RFC 9810 §4.4.1). All keep the old root's basicConstraints.
    /// </summary>
    public static RootCaKeyUpdate Create(X509Certificate2 oldRoot, AsymmetricAlgorithm newKey, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(oldRoot);
        ArgumentNullException.ThrowIfNull(newKey);
        if (!oldRoot.HasPrivateKey)
        {
            throw new ArgumentException("the old root needs its private key", nameof(oldRoot));
        }

        DateTimeOffset notBefore = now - TimeSpan.FromMinutes(5);
        TimeSpan lifetime = oldRoot.NotAfter.ToUniversalTime() - oldRoot.NotBefore.ToUniversalTime();
        X509BasicConstraintsExtension constraints = oldRoot.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault()
            ?? throw new ArgumentException("the old root has no basicConstraints", nameof(oldRoot));
        int? pathLength = constraints.HasPathLengthConstraint ? constraints.PathLengthConstraint : null;

        X509Certificate2 newWithNew = CertificateFactory.CreateSelfSignedCa(oldRoot.SubjectName, newKey, notBefore, notBefore + lifetime, pathLength);
        using X509Certificate2 newWithNewKey = newKey switch
        {
            ECDsa ec => newWithNew.CopyWithPrivateKey(ec),
            RSA rsa => newWithNew.CopyWithPrivateKey(rsa),
            _ => throw new NotSupportedException($"root key type {newKey.GetType().Name} is not supported"),
        };
        X509Extension[] caExtensions =
        [
            new X509BasicConstraintsExtension(true, pathLength.HasValue, pathLength ?? 0, critical: true),
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true),
        ];
        // Sign clamps notAfter to the signer's: newWithOld ends when the old root does.
        X509Certificate2 newWithOld = CertificateFactory.Sign(newWithNew.SubjectName, newWithNew.PublicKey, oldRoot, notBefore, newWithNew.NotAfter,
            CertificateFactory.NewSerialNumber(), caExtensions);
        X509Certificate2 oldWithNew = CertificateFactory.Sign(oldRoot.SubjectName, oldRoot.PublicKey, newWithNewKey, notBefore,
            new DateTimeOffset(oldRoot.NotAfter.ToUniversalTime(), TimeSpan.Zero), CertificateFactory.NewSerialNumber(), caExtensions);
        return new RootCaKeyUpdate(X509CertificateLoader.LoadCertificate(oldRoot.RawData), newWithNew, newWithOld, oldWithNew);
    }

    /// <summary>
    /// The update loaded from its files, checked: newWithNew is self-signed, newWithOld carries the new key and name and is signed by
    /// <paramref name="oldRoot"/>'s key, oldWithNew carries the old key and name and is signed by the new key. Null with the reason
    /// when they do not fit together.
    /// </summary>
    public static RootCaKeyUpdate? TryLoad(X509Certificate2 oldRoot, X509Certificate2 newWithNew, X509Certificate2 newWithOld, X509Certificate2 oldWithNew, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(oldRoot);
        ArgumentNullException.ThrowIfNull(newWithNew);
        ArgumentNullException.ThrowIfNull(newWithOld);
        ArgumentNullException.ThrowIfNull(oldWithNew);
        problem = !SignedBy(newWithNew, newWithNew) ? "newWithNew is not self-signed"
            : !SameKeyAndName(newWithOld, newWithNew) ? "newWithOld does not carry newWithNew's name and key"
            : !SignedBy(newWithOld, oldRoot) ? "newWithOld is not signed by the current root's key"
            : !SameKeyAndName(oldWithNew, oldRoot) ? "oldWithNew does not carry the current root's name and key"
            : !SignedBy(oldWithNew, newWithNew) ? "oldWithNew is not signed by newWithNew's key"
            : SameKeyAndName(newWithNew, oldRoot) ? "newWithNew has the current root's key"
            : null;
        return problem is null ? new RootCaKeyUpdate(oldRoot, newWithNew, newWithOld, oldWithNew) : null;
    }

    private static bool SameKeyAndName(X509Certificate2 a, X509Certificate2 b) =>
        a.SubjectName.RawData.AsSpan().SequenceEqual(b.SubjectName.RawData)
        && a.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(b.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>Whether <paramref name="issuer"/>'s key signed <paramref name="certificate"/> and its name is the issuer's (RFC 5280 section 4.1.1.3).</summary>
    private static bool SignedBy(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        if (!certificate.IssuerName.RawData.AsSpan().SequenceEqual(issuer.SubjectName.RawData))
        {
            return false;
        }

        try
        {
            var outer = new AsnReader(certificate.RawDataMemory, AsnEncodingRules.DER);
            AsnReader sequence = outer.ReadSequence();
            ReadOnlyMemory<byte> tbs = sequence.ReadEncodedValue();
            ReadOnlyMemory<byte> algorithmIdentifier = sequence.ReadEncodedValue();
            byte[] signature = sequence.ReadBitString(out int unused);
            SignatureAlgorithm? algorithm = SignatureAlgorithm.Read(algorithmIdentifier, out _);
            return unused == 0 && algorithm is not null
                && SignatureProofs.Verify(tbs, algorithm, signature, issuer.PublicKey, "certificate", "bad signature", out _).IsVerified;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }
}
