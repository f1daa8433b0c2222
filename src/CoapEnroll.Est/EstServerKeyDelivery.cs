using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Est;

/// <summary>
/// How EST returns a server-generated key (RFC 7030 §4.4, RFC 9148 §4.8): in the clear as PKCS#8 (284), or as CMS EnvelopedData
/// (280) to the symmetric key named by DecryptKeyIdentifier (§4.4.1.1) or to the certificate named by AsymmetricDecryptKeyIdentifier
/// (§4.4.1.2), signed by the party that generated the key (§4.4.2). The delivery is settled before anything is issued.
/// </summary>
internal sealed class EstServerKeyDelivery
{
    private readonly EstServerOptions _options;
    private readonly EnrollmentService _enrollment;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, byte[]> _keyEncryptionKeys;

    public EstServerKeyDelivery(EstServerOptions options, EnrollmentService enrollment, TimeProvider time)
    {
        _options = options;
        _enrollment = enrollment;
        _time = time;
        _keyEncryptionKeys = ParseKeyEncryptionKeys(options.KeyEncryptionKeys);
    }

    /// <summary>Decides how the key will be delivered; null plan and a problem (for a 4.00) when the request cannot be satisfied.</summary>
    public async Task<(Plan? Plan, string? Problem)> PlanAsync(EstCsr csr, Requester requester, CancellationToken cancellationToken)
    {
        X509Certificate2? recipient = null;
        byte[]? kek = null;
        if (csr.DecryptKeyIdentifier is { } symmetricId)
        {
            if (csr.AsymmetricDecryptKeyIdentifier is not null)
            {
                return (null, "the CSR names both a DecryptKeyIdentifier and an AsymmetricDecryptKeyIdentifier");
            }

            if (!csr.HasSmimeCapabilities)
            {
                return (null, "a DecryptKeyIdentifier needs an SMIMECapabilities attribute (RFC 7030 section 4.4.1)");
            }

            if (!_keyEncryptionKeys.TryGetValue(Convert.ToHexString(symmetricId), out kek))
            {
                return (null, "no symmetric key matches the DecryptKeyIdentifier (RFC 7030 section 4.4.1.1)");
            }

            try
            {
                _ = ServerGeneratedKeyEnvelope.ChooseForKeyEncryptionKey(kek.Length, csr.SmimeCapabilities);
            }
            catch (ArgumentException ex)
            {
                return (null, ex.Message);
            }
        }

        if (csr.AsymmetricDecryptKeyIdentifier is { } keyId)
        {
            if (!csr.HasSmimeCapabilities)
            {
                return (null, "an AsymmetricDecryptKeyIdentifier needs an SMIMECapabilities attribute (RFC 7030 section 4.4.1)");
            }

            recipient = await FindRecipientAsync(keyId, requester, cancellationToken);
            if (recipient is null)
            {
                return (null, "no certificate matches the AsymmetricDecryptKeyIdentifier (RFC 7030 section 4.4.1.2)");
            }

            try
            {
                // A trial run on an empty key checks the key type, key usage and the offered algorithms.
                _ = ServerGeneratedKeyEnvelope.Protect([0x30, 0x00], recipient, Signer(), [], csr.SmimeCapabilities);
            }
            catch (ArgumentException ex)
            {
                return (null, ex.Message);
            }
            catch (CryptographicException)
            {
                // A key the platform cannot encrypt to, e.g. an RSA key too short for OAEP with the offered hash.
                return (null, "the recipient certificate's key cannot carry the generated key with the offered algorithms (too short or unsupported)");
            }
        }

        if (recipient is not null || kek is not null)
        {
            // Checked before anything is issued: without a signer the key could not be delivered, and the device would be left
            // with a certificate whose key it never received.
            _ = Signer();
        }

        return (new Plan(recipient, kek), null);
    }

    /// <summary>The generated key as delivered: encrypted when a recipient or key-encryption key was named, else the PKCS#8 itself.</summary>
    public EstServerGeneratedKey CreateKey(Plan plan, EstCsr csr, byte[] pkcs8) =>
        plan.Recipient is not null ? new EstServerGeneratedKey(true,
            ServerGeneratedKeyEnvelope.Protect(pkcs8, plan.Recipient, Signer(), SignerIntermediates(), csr.SmimeCapabilities))
        : plan.KeyEncryptionKey is not null ? new EstServerGeneratedKey(true,
            ServerGeneratedKeyEnvelope.Protect(pkcs8, csr.DecryptKeyIdentifier, plan.KeyEncryptionKey, Signer(), SignerIntermediates(), csr.SmimeCapabilities))
        : new EstServerGeneratedKey(false, pkcs8);

    // Fails at startup, naming the entry, rather than at the first request that needs the key.
    private static Dictionary<string, byte[]> ParseKeyEncryptionKeys(IDictionary<string, string> configured)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach ((string id, string value) in configured)
        {
            byte[] keyId;
            byte[] key;
            try
            {
                keyId = Convert.FromHexString(id);
                key = Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                throw new ArgumentException($"Est:KeyEncryptionKeys:{id}: the name must be the key identifier in hex and the value the key in base64");
            }

            if (keyId.Length == 0 || key.Length is not (16 or 24 or 32))
            {
                throw new ArgumentException($"Est:KeyEncryptionKeys:{id}: an AES key-encryption key has 16, 24 or 32 octets, not {key.Length}, and a non-empty identifier");
            }

            keys[Convert.ToHexString(keyId)] = key;
        }

        return keys;
    }

    private IEnumerable<X509Certificate2> SignerIntermediates() => _options.KeyGenerationSignerIntermediates;

    // The host sets the signer (CoapEnroll.Hosting: its server credential); without one, an encrypted key cannot be delivered and the
    // request fails as the server's fault (5.00), never with the key in the clear.
    private X509Certificate2 Signer() =>
        _options.KeyGenerationSigner is { HasPrivateKey: true } signer ? signer
        : throw new InvalidOperationException("no certificate with a private key to sign encrypted server-generated keys (EstServerOptions.KeyGenerationSigner)");

    // The recipient named by AsymmetricDecryptKeyIdentifier (matched against the subject key identifier): the client's own
    // certificate, then the active certificates this CA issued with the client's subject, then the host's resolver.
    private async Task<X509Certificate2?> FindRecipientAsync(byte[] keyId, Requester requester, CancellationToken cancellationToken)
    {
        IEnumerable<X509Certificate2> candidates = requester.Peer.Certificates.Take(1);
        // EST requesters come over a (D)TLS channel with a client certificate; one without (a shared secret) has no subject to look up.
        IReadOnlyList<StoredCertificate> issued = requester.Certificate is { } own
            ? await _enrollment.Authority.Store.FindCertificatesBySubjectAsync(own.Subject, 50, cancellationToken)
            : [];
        DateTimeOffset now = _time.GetUtcNow();
        candidates = candidates.Concat(issued.Where(c => c.Status == CertificateStatus.Active && c.NotBefore <= now && now < c.NotAfter).Select(c => c.ToCertificate()));
        foreach (X509Certificate2 candidate in candidates)
        {
            if (candidate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is { } ski
                && ski.SubjectKeyIdentifierBytes.Span.SequenceEqual(keyId))
            {
                return candidate;
            }
        }

        return _options.RecipientCertificateResolver is { } resolve ? await resolve(keyId, cancellationToken) : null;
    }

    /// <summary>Where the generated key goes: to a recipient certificate, under a key-encryption key, or (both null) in the clear.</summary>
    public sealed record Plan(X509Certificate2? Recipient, byte[]? KeyEncryptionKey);
}
