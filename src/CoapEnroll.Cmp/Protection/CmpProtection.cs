using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>
/// PKIMessage protection (RFC 9810 §5.1.3, RFC 9483 §3.2): MAC protection with a shared secret (PasswordBasedMac, PBMAC1)
/// and signature protection with a certificate's key. Verification never throws on message content; it returns a status.
/// </summary>
public static class CmpProtection
{
    /// <summary>The kind of protection the message's header announces (whether or not a protection value is present).</summary>
    /// <remarks>Ed25519 and Ed448 count as <see cref="CmpProtectionKind.Signature"/>, but <see cref="VerifySignature"/> does not support them.</remarks>
    public static CmpProtectionKind GetKind(PkiMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Header.ProtectionAlg?.Algorithm switch
        {
            null => CmpProtectionKind.None,
            CmpProtectionOids.PasswordBasedMac => CmpProtectionKind.PasswordBasedMac,
            CmpProtectionOids.Pbmac1 => CmpProtectionKind.Pbmac1,
            string oid when CmpProtectionOids.IsSignature(oid) => CmpProtectionKind.Signature,
            _ => CmpProtectionKind.Unsupported,
        };
    }

    /// <summary>Verifies a PasswordBasedMac or PBMAC1 protection with the shared secret, within <paramref name="policy"/>.</summary>
    /// <param name="message">The received message (its protected part is the exact received header and body).</param>
    /// <param name="secret">The shared secret (the password's bytes).</param>
    /// <param name="policy">The accepted parameters.</param>
    public static CmpProtectionResult VerifyMac(PkiMessage message, ReadOnlySpan<byte> secret, CmpMacPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(policy);
        if (message.Header.ProtectionAlg is not { } alg || message.Protection is not { } protection)
        {
            return CmpProtectionResult.Fail(CmpProtectionStatus.NotProtected, "the message has no protectionAlg or no protection");
        }

        try
        {
            byte[] expected = CmpMac.Compute(alg, secret, message.GetProtectedPart(), policy);
            return CryptographicOperations.FixedTimeEquals(expected, protection.Span)
                ? CmpProtectionResult.Valid()
                : CmpProtectionResult.Fail(CmpProtectionStatus.Invalid, "the MAC does not match");
        }
        catch (Exception e) when (Classify(e) is { } status)
        {
            return CmpProtectionResult.Fail(status, e.Message);
        }
    }

    /// <summary>Verifies a signature protection with the signer's public key (ECDSA, RSASSA-PKCS1-v1_5 or RSASSA-PSS with SHA-2).</summary>
    /// <param name="message">The received message.</param>
    /// <param name="signer">The protection certificate, e.g. the first of extraCerts; its chain and usage are the caller's to validate.</param>
    public static CmpProtectionResult VerifySignature(PkiMessage message, X509Certificate2 signer)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(signer);
        if (message.Header.ProtectionAlg is not { } alg || message.Protection is not { } protection)
        {
            return CmpProtectionResult.Fail(CmpProtectionStatus.NotProtected, "the message has no protectionAlg or no protection");
        }

        try
        {
            return CmpSignature.Verify(alg, signer, message.GetProtectedPart(), protection.ToArray())
                ? CmpProtectionResult.Valid()
                : CmpProtectionResult.Fail(CmpProtectionStatus.Invalid, "the signature does not verify");
        }
        catch (Exception e) when (Classify(e) is { } status)
        {
            return CmpProtectionResult.Fail(status, e.Message);
        }
    }

    /// <summary>
    /// Returns a copy of <paramref name="unprotected"/> with header.protectionAlg set and the MAC computed over the new protected part;
    /// nothing else of the header changes (the caller sets senderKID to the reference value). Any previous protection is replaced.
    /// </summary>
    public static PkiMessage ProtectWithMac(PkiMessage unprotected, ReadOnlySpan<byte> secret, CmpMacParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(unprotected);
        ArgumentNullException.ThrowIfNull(parameters);
        CmpAlgorithmIdentifier alg = CmpMac.CreateAlgorithm(parameters);
        var message = new PkiMessage
        {
            Header = unprotected.Header.WithProtectionAlg(alg),
            Body = unprotected.Body,
            ExtraCerts = unprotected.ExtraCerts,
        };
        var policy = new CmpMacPolicy
        {
            MinIterations = 1,
            MaxIterations = int.MaxValue,
            MinSaltLength = 0,
            MinKeyLength = 1,
        };
        return new PkiMessage
        {
            Header = message.Header,
            Body = message.Body,
            ExtraCerts = message.ExtraCerts,
            Protection = CmpMac.Compute(alg, secret, message.GetProtectedPart(), policy),
        };
    }

    /// <summary>
    /// Returns a copy of <paramref name="unprotected"/> signed with the certificate's private key: ECDSA P-256/P-384/P-521 with
    /// SHA-256/384/512, RSA with sha256WithRSAEncryption. extraCerts become the certificate followed by <paramref name="extraCerts"/>
    /// (without repeating the certificate). Nothing else of the header changes (the caller sets senderKID to the subject key identifier).
    /// </summary>
    /// <exception cref="ArgumentException">The certificate has no usable ECDSA or RSA private key.</exception>
    public static PkiMessage ProtectWithSignature(PkiMessage unprotected, X509Certificate2 certificate, IReadOnlyList<X509Certificate2> extraCerts)
    {
        ArgumentNullException.ThrowIfNull(unprotected);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(extraCerts);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("the protection certificate has no private key", nameof(certificate));
        }

        // GetECDsaPrivateKey/GetRSAPrivateKey hand out a new object per call, owned by this call.
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("the certificate has no ECDSA or RSA private key", nameof(certificate));
        return ProtectWithSignature(unprotected, certificate, key, RSASignaturePadding.Pkcs1, extraCerts);
    }

    /// <summary>
    /// As <see cref="ProtectWithSignature(PkiMessage, X509Certificate2, IReadOnlyList{X509Certificate2})"/>, signing with
    /// <paramref name="key"/> (the private key of <paramref name="certificate"/>, wherever it is kept: a file, or a PKCS#11 token
    /// behind an <see cref="ECDsa"/>/<see cref="RSA"/> that signs there); RSA keys sign with <paramref name="rsaPadding"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The key is neither ECDSA nor RSA.</exception>
    public static PkiMessage ProtectWithSignature(PkiMessage unprotected, X509Certificate2 certificate, AsymmetricAlgorithm key, RSASignaturePadding rsaPadding,
        IReadOnlyList<X509Certificate2> extraCerts)
    {
        ArgumentNullException.ThrowIfNull(unprotected);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(rsaPadding);
        ArgumentNullException.ThrowIfNull(extraCerts);
        var certs = new List<ReadOnlyMemory<byte>> { certificate.RawData };
        foreach (X509Certificate2 extra in extraCerts)
        {
            if (!certs.Any(c => c.Span.SequenceEqual(extra.RawData)))
            {
                certs.Add(extra.RawData);
            }
        }

        PkiMessage? message = null;
        (_, byte[] signature) = CmpSignature.Sign(key, rsaPadding, alg =>
        {
            message = new PkiMessage
            {
                Header = unprotected.Header.WithProtectionAlg(alg),
                Body = unprotected.Body,
                ExtraCerts = certs,
            };
            return message.GetProtectedPart();
        });
        return new PkiMessage
        {
            Header = message!.Header,
            Body = message.Body,
            ExtraCerts = message.ExtraCerts,
            Protection = signature,
        };
    }

    private static CmpProtectionStatus? Classify(Exception e) => e switch
    {
        CmpProtectionException p => p.Status,
        AsnContentException or CmpDecodeException or CryptographicException or ArgumentException or OverflowException => CmpProtectionStatus.Malformed,
        _ => null,
    };
}
