using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Ca;

/// <summary>Decodes a PKCS#10 request (RFC 2986) once, verifies its proof of possession and applies a profile's key, subject and SAN rules.</summary>
internal static class CsrValidator
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const int MaxSubjectAltNames = 32;

    private static readonly Asn1Tag s_dnsName = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag s_uri = new(TagClass.ContextSpecific, 6);
    private static readonly Asn1Tag s_ipAddress = new(TagClass.ContextSpecific, 7);

    /// <summary>What the issued certificate is built from.</summary>
    internal sealed record Validated(X500DistinguishedName Subject, PublicKey PublicKey, X509Extension? SubjectAltName);

    /// <summary>Decodes the PKCS#10 DER, then validates it; throws <see cref="CsrRejectedException"/> with the reason on any failure.</summary>
    public static Validated Validate(ReadOnlyMemory<byte> csrDer, PublicKey? overridePublicKey, CertificateProfile profile, IEnumerable<X509Certificate2> caCertificates)
    {
        CheckLength(csrDer);
        return Validate(Decode(csrDer), overridePublicKey, profile, caCertificates);
    }

    /// <summary>Decodes a PKCS#10 request; throws <see cref="CsrRejectedException"/> when it cannot be decoded.</summary>
    public static CertificationRequest Decode(ReadOnlyMemory<byte> csrDer) =>
        CertificationRequest.DecodePkcs10(csrDer, out CertificationRequest? request, out string? detail) switch
        {
            CertificationRequestDecodeStatus.Decoded => request!,
            CertificationRequestDecodeStatus.TrailingData => throw new CsrRejectedException(RejectionReason.MalformedRequest, "trailing data after the CSR"),
            _ => throw new CsrRejectedException(RejectionReason.MalformedRequest, $"CSR cannot be decoded: {detail}"),
        };

    /// <summary>Validates a decoded request; throws <see cref="CsrRejectedException"/> with the reason on any failure.</summary>
    public static Validated Validate(CertificationRequest request, PublicKey? overridePublicKey, CertificateProfile profile, IEnumerable<X509Certificate2> caCertificates)
    {
        if (request.Format == CertificationRequestFormat.Crmf)
        {
            // A CRMF CertRequest for central key generation may be a few bytes; only the upper bound applies.
            if (request.Encoded.Length > IssuanceRequest.MaxCsrLength)
            {
                throw new CsrRejectedException(RejectionReason.MalformedRequest, $"certificate request length {request.Encoded.Length} is above {IssuanceRequest.MaxCsrLength}");
            }
        }
        else
        {
            CheckLength(request.Encoded);
        }

        try
        {
            return ValidateCore(request, overridePublicKey, profile, caCertificates);
        }
        catch (Exception ex) when (ex is CryptographicException or AsnContentException)
        {
            // Every check above reads with its own decoder and says what is wrong; this is for what the platform still throws on
            // a request none of them foresaw: a refusal with the platform's text, never an internal error.
            throw new CsrRejectedException(RejectionReason.MalformedRequest, $"the CSR cannot be processed: {ex.Message}");
        }
    }

    private static Validated ValidateCore(CertificationRequest request, PublicKey? overridePublicKey, CertificateProfile profile, IEnumerable<X509Certificate2> caCertificates)
    {
        PublicKey certified;
        if (overridePublicKey is not null)
        {
            // Server-side key generation: "the server MUST ignore the public key values and signature in
            // the CSR" (RFC 9148 §4.8); the certified key is the one the server made, and the requester
            // is authenticated by the (D)TLS session, not by the CSR.
            certified = CheckKey(overridePublicKey, profile, caCertificates, "server-generated", null);
        }
        else
        {
            // Key checks come before the signature check, so an oversized RSA key is refused before any work is spent on it.
            if (request.PublicKey is null || request.ProofOfPossession is null)
            {
                throw new CsrRejectedException(RejectionReason.MalformedRequest, "the request has no public key to certify (central key generation needs a key the server generates)");
            }

            // A proof of possession checked before (a front end's authorization) imported this key object already.
            certified = CheckKey(request.PublicKey, profile, caCertificates, "CSR", request.ProofOfPossession.ImportedEcKeyFor(request.PublicKey));

            // SHA-1 collisions are practical (SHAttered, 2017): a SHA-1 signature no longer shows that the signer meant this request.
            if (request.ProofOfPossession.SignatureHashAlgorithm == HashAlgorithmName.SHA1 && !profile.AllowSha1Signatures)
            {
                throw new CsrRejectedException(RejectionReason.UnsupportedAlgorithm,
                    $"the CSR is signed with SHA-1, which profile '{profile.Name}' does not accept (Ca:Profiles:{profile.Name}:AllowSha1Signatures)");
            }

            // Proof of possession (RFC 2986 section 3; RFC 7030 section 3.4). Verified once per request: a front end that checked
            // it already gets the remembered answer.
            ProofOfPossessionResult proof = request.ProofOfPossession.Check();
            if (!proof.IsVerified)
            {
                throw new CsrRejectedException(proof.Reason, proof.Detail);
            }
        }

        TemplateRules.CheckSubject(request.Subject, profile);
        TemplateRules.CheckRequestedExtensions(request.RequestedExtensions);
        X509Extension? san = CheckSubjectAltNames(request.RequestedExtensions, profile);
        return new Validated(new X500DistinguishedName(request.Subject.RawData), certified, san);
    }

    private static void CheckLength(ReadOnlyMemory<byte> csrDer)
    {
        if (csrDer.Length is < IssuanceRequest.MinCsrLength or > IssuanceRequest.MaxCsrLength)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, $"CSR length {csrDer.Length} is outside {IssuanceRequest.MinCsrLength}..{IssuanceRequest.MaxCsrLength}");
        }
    }

    /// <summary>
    /// Checks a key against the profile; returns the key to certify (an EC point in uncompressed form). <paramref name="imported"/> is
    /// what an earlier import of this key object found, if any: an uncompressed point the platform accepted is not imported again.
    /// </summary>
    private static PublicKey CheckKey(PublicKey key, CertificateProfile profile, IEnumerable<X509Certificate2> caCertificates, string which, ImportedEcKey? imported)
    {
        PublicKey certified = key;
        switch (key.Oid.Value)
        {
            case PkixOids.EcPublicKey when imported is { Compressed: false } && ReferenceEquals(imported.Key, key):
                if ((profile.AcceptedKeyTypes & imported.Type) == 0)
                {
                    throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: {imported.Type} is not accepted by profile '{profile.Name}'");
                }

                break;

            case PkixOids.EcPublicKey:
                if (!EcPublicKeys.TryImport(key, out ECDsa? ec, out KeyTypes type, out bool compressed, out RejectionReason reason, out string detail))
                {
                    throw new CsrRejectedException(reason, $"{which} key: {detail}");
                }

                using (ec)
                {
                    if ((profile.AcceptedKeyTypes & type) == 0)
                    {
                        throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: {type} is not accepted by profile '{profile.Name}'");
                    }

                    // The certificate carries the point uncompressed, the form every implementation reads (RFC 5480 section 2.2).
                    certified = compressed ? new PublicKey(ec!) : key;
                }

                break;

            case PkixOids.RsaEncryption:
                if ((profile.AcceptedKeyTypes & KeyTypes.Rsa) == 0)
                {
                    throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: RSA is not accepted by profile '{profile.Name}'");
                }

                if (!RsaPublicKeys.TryRead(key, out int size, out RejectionReason rsaReason, out string rsaDetail))
                {
                    throw new CsrRejectedException(rsaReason, $"{which} key: {rsaDetail}");
                }

                if (size < profile.MinimumRsaKeySize)
                {
                    throw new CsrRejectedException(RejectionReason.KeyTooWeak, $"{which} key: RSA {size} is shorter than {profile.MinimumRsaKeySize}");
                }

                try
                {
                    using RSA rsa = key.GetRSAPublicKey() ?? throw new CryptographicException();
                }
                catch (CryptographicException)
                {
                    throw new CsrRejectedException(RejectionReason.MalformedRequest, $"{which} key: the RSA key cannot be decoded");
                }

                break;

            default:
                throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: algorithm {SignatureAlgorithm.KeyAlgorithmName(key.Oid.Value)} is not supported");
        }

        // Compared in the certified form, so a CA's key sent compressed is still the CA's key.
        byte[] spki = certified.ExportSubjectPublicKeyInfo();
        foreach (X509Certificate2 ca in caCertificates)
        {
            if (ca.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(spki))
            {
                throw new CsrRejectedException(RejectionReason.KeyNotAllowed, $"{which} key is a CA's key");
            }
        }

        return certified;
    }

    /// <summary>
    /// SAN rules (RFC 5280 section 4.2.1.6): Reject refuses any; Copy accepts dNSName (LDH, no wildcard), iPAddress (4 or 16 octets)
    /// and uniformResourceIdentifier (absolute) entries, at most 32, and copies the validated DER unchanged (non-critical, as the subject is not empty).
    /// </summary>
    private static X509Extension? CheckSubjectAltNames(IEnumerable<X509Extension> extensions, CertificateProfile profile)
    {
        X509Extension[] sans = extensions.Where(e => e.Oid?.Value == SubjectAltNameOid).ToArray();
        if (sans.Length == 0)
        {
            return null;
        }

        if (profile.SubjectAltNames == SubjectAltNamePolicy.Reject)
        {
            throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"profile '{profile.Name}' does not allow subject alternative names");
        }

        return CheckSubjectAltNameForms(sans);
    }

    /// <summary>
    /// The subjectAltName's own rules, whatever the profile: one extension, at most <see cref="MaxSubjectAltNames"/> names, each a
    /// valid dNSName, absolute URI or iPAddress. Checked with the template (<see cref="CertificationRequest.TryCheckTemplate"/>),
    /// before anything compares names, so a malformed name is refused for what is wrong with it.
    /// </summary>
    internal static X509Extension? CheckSubjectAltNameForms(IEnumerable<X509Extension> extensions)
    {
        X509Extension[] sans = extensions.Where(e => e.Oid?.Value == SubjectAltNameOid).ToArray();
        if (sans.Length == 0)
        {
            return null;
        }

        if (sans.Length > 1)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, "more than one subjectAltName extension");
        }

        try
        {
            var reader = new AsnReader(sans[0].RawData, AsnEncodingRules.DER);
            AsnReader names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            int count = 0;
            while (names.HasData)
            {
                if (++count > MaxSubjectAltNames)
                {
                    throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"more than {MaxSubjectAltNames} subject alternative names");
                }

                Asn1Tag tag = names.PeekTag();
                if (tag.HasSameClassAndValue(s_dnsName))
                {
                    string dns = names.ReadCharacterString(UniversalTagNumber.IA5String, s_dnsName);
                    if (!IsDnsName(dns))
                    {
                        throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"dNSName '{Truncate(dns)}' is not a valid host name");
                    }
                }
                else if (tag.HasSameClassAndValue(s_uri))
                {
                    string uri = names.ReadCharacterString(UniversalTagNumber.IA5String, s_uri);
                    // RFC 3986 section 2: a URI is printable ASCII without spaces; Uri.TryCreate would escape what it is given.
                    if (uri.Length > 1024 || uri.Any(c => c is <= ' ' or >= '\x7F') || !Uri.TryCreate(uri, UriKind.Absolute, out _))
                    {
                        throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"URI '{Truncate(uri)}' is not an absolute URI");
                    }
                }
                else if (tag.HasSameClassAndValue(s_ipAddress))
                {
                    byte[] ip = names.ReadOctetString(s_ipAddress);
                    if (ip.Length is not (4 or 16))
                    {
                        throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"iPAddress of {ip.Length} octets");
                    }
                }
                else
                {
                    throw new CsrRejectedException(RejectionReason.SubjectAltNameNotAllowed, $"subject alternative name form [{tag.TagValue}] is not allowed (only dNSName, iPAddress, URI)");
                }
            }

            if (count == 0)
            {
                throw new CsrRejectedException(RejectionReason.MalformedRequest, "empty subjectAltName");
            }
        }
        catch (AsnContentException)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, "subjectAltName cannot be decoded");
        }

        return new X509Extension(SubjectAltNameOid, sans[0].RawData, critical: false);
    }

    /// <summary>Preferred name syntax (RFC 1034 section 3.5, RFC 1123 section 2.1): LDH labels of 1..63, total at most 253, no wildcard.</summary>
    private static bool IsDnsName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    // Peer text in a stored reason, a log line and a diagnostic payload: bounded, with what cannot be seen as \xHH.
    private static string Truncate(string value)
    {
        string cut = value.Length <= 64 ? value : value[..64] + "...";
        return string.Concat(cut.Select(c => c is < ' ' or >= '\x7F' or '\\' ? $"\\x{(int)c:X2}" : c.ToString()));
    }
}
