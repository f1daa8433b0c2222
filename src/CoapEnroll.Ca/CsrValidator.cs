using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Ca;

/// <summary>Decodes a PKCS#10 request (RFC 2986) once, verifies its proof of possession and applies a profile's key, subject and SAN rules.</summary>
internal static class CsrValidator
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const string P384Oid = "1.3.132.0.34";
    private const int MaxRdns = 16;
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
        CheckLength(request.Encoded);
        if (overridePublicKey is not null)
        {
            // Server-side key generation: "the server MUST ignore the public key values and signature in
            // the CSR" (RFC 9148 §4.8); the certified key is the one the server made, and the requester
            // is authenticated by the (D)TLS session, not by the CSR.
            CheckKey(overridePublicKey, profile, caCertificates, "server-generated");
        }
        else
        {
            // Key checks come before the signature check, so an oversized RSA key is refused before any work is spent on it.
            CheckKey(request.PublicKey, profile, caCertificates, "CSR");

            // Proof of possession (RFC 2986 section 3; RFC 7030 section 3.4). Verified once per request: a front end that checked
            // it already gets the remembered answer.
            if (!request.ProofOfPossession.Verify())
            {
                throw new CsrRejectedException(RejectionReason.BadSignature, "the CSR signature does not verify");
            }
        }

        CheckSubject(request.Subject, profile);
        X509Extension? san = CheckSubjectAltNames(request.RequestedExtensions, profile);
        return new Validated(new X500DistinguishedName(request.Subject.RawData), overridePublicKey ?? request.PublicKey, san);
    }

    private static void CheckLength(ReadOnlyMemory<byte> csrDer)
    {
        if (csrDer.Length is < IssuanceRequest.MinCsrLength or > IssuanceRequest.MaxCsrLength)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, $"CSR length {csrDer.Length} is outside {IssuanceRequest.MinCsrLength}..{IssuanceRequest.MaxCsrLength}");
        }
    }

    private static void CheckKey(PublicKey key, CertificateProfile profile, IEnumerable<X509Certificate2> caCertificates, string which)
    {
        switch (key.Oid.Value)
        {
            case PkixOids.EcPublicKey:
                string? curve;
                try
                {
                    // RFC 5480 section 2.1.1: namedCurve only; implicitCurve and specifiedCurve are not allowed.
                    curve = key.EncodedParameters?.RawData is { Length: > 0 } encoded
                        ? new AsnReader(encoded, AsnEncodingRules.DER).ReadObjectIdentifier()
                        : null;
                }
                catch (AsnContentException)
                {
                    curve = null;
                }

                KeyTypes type = curve switch
                {
                    P256Oid => KeyTypes.EcP256,
                    P384Oid => KeyTypes.EcP384,
                    _ => throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: EC curve {curve ?? "(not a named curve)"} is not supported"),
                };
                if ((profile.AcceptedKeyTypes & type) == 0)
                {
                    throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: {type} is not accepted by profile '{profile.Name}'");
                }

                try
                {
                    // Imports and so checks that the point lies on the curve.
                    using ECDsa? ec = key.GetECDsaPublicKey();
                }
                catch (CryptographicException)
                {
                    throw new CsrRejectedException(RejectionReason.KeyNotAllowed, $"{which} key: the EC point is invalid");
                }

                break;

            case PkixOids.RsaEncryption:
                if ((profile.AcceptedKeyTypes & KeyTypes.Rsa) == 0)
                {
                    throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: RSA is not accepted by profile '{profile.Name}'");
                }

                int size;
                RSAParameters parameters;
                try
                {
                    using RSA rsa = key.GetRSAPublicKey() ?? throw new CryptographicException();
                    size = rsa.KeySize;
                    parameters = rsa.ExportParameters(false);
                }
                catch (CryptographicException)
                {
                    throw new CsrRejectedException(RejectionReason.MalformedRequest, $"{which} key: the RSA key cannot be decoded");
                }

                if (size < profile.MinimumRsaKeySize)
                {
                    throw new CsrRejectedException(RejectionReason.KeyTooWeak, $"{which} key: RSA {size} is shorter than {profile.MinimumRsaKeySize}");
                }

                if (size > CertificateProfile.MaximumRsaKeySize)
                {
                    throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: RSA {size} is longer than {CertificateProfile.MaximumRsaKeySize}");
                }

                // RFC 8017 section 3.1: e is odd and at least 3.
                byte[] e = parameters.Exponent ?? [];
                if (e.Length == 0 || (e[^1] & 1) == 0 || (e.Length == 1 && e[0] < 3))
                {
                    throw new CsrRejectedException(RejectionReason.KeyNotAllowed, $"{which} key: RSA public exponent is invalid");
                }

                break;

            default:
                throw new CsrRejectedException(RejectionReason.UnsupportedKeyType, $"{which} key: algorithm {key.Oid.Value} is not supported");
        }

        byte[] spki = key.ExportSubjectPublicKeyInfo();
        foreach (X509Certificate2 ca in caCertificates)
        {
            if (ca.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(spki))
            {
                throw new CsrRejectedException(RejectionReason.KeyNotAllowed, $"{which} key is a CA's key");
            }
        }
    }

    /// <summary>Subject rules: non-empty; at most 16 RDNs; each single-valued, a string, within its upper bound (RFC 5280 Appendix A); in the allow list if the profile has one.</summary>
    private static void CheckSubject(X500DistinguishedName subject, CertificateProfile profile)
    {
        int count = 0;
        foreach (X500RelativeDistinguishedName rdn in subject.EnumerateRelativeDistinguishedNames())
        {
            if (++count > MaxRdns)
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject has more than {MaxRdns} RDNs");
            }

            if (rdn.HasMultipleElements)
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, "subject has a multi-valued RDN");
            }

            string type = rdn.GetSingleElementType().Value ?? "";
            string? value = rdn.GetSingleElementValue();
            if (string.IsNullOrEmpty(value))
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {type} is empty or not a string");
            }

            int upperBound = type switch
            {
                "2.5.4.6" => 2, // ub-country-name (alpha-2)
                "2.5.4.3" or "2.5.4.5" or "2.5.4.10" or "2.5.4.11" => 64, // ub-common-name, ub-serial-number, ub-organization-name, ub-organizational-unit-name
                "2.5.4.7" or "2.5.4.8" => 128, // ub-locality-name, ub-state-name
                _ => 256,
            };
            if (value.Length > upperBound)
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {type} is longer than {upperBound}");
            }

            if (profile.SubjectPolicy == SubjectPolicy.AllowList && !profile.AllowedSubjectAttributeOids.Contains(type))
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {type} is not allowed by profile '{profile.Name}'");
            }
        }

        if (count == 0)
        {
            throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, "subject is empty");
        }
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
                    if (uri.Length > 1024 || !Uri.TryCreate(uri, UriKind.Absolute, out _))
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

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
