using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>
/// Builds the unprotected request messages of the Lightweight CMP Profile (RFC 9483 §4) for a client: protect them with
/// <see cref="CmpProtection"/> before sending. Transaction IDs and nonces are 128-bit random values (RFC 9483 §3.1).
/// </summary>
public static class CmpRequests
{
    private const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";
    private const string EcdsaWithSha384 = "1.2.840.10045.4.3.3";
    private const string Sha256WithRsa = "1.2.840.113549.1.1.11";

    /// <summary>A fresh 128-bit transactionID or nonce.</summary>
    public static byte[] NewId() => RandomNumberGenerator.GetBytes(16);

    /// <summary>
    /// A request header: pvno 2, <paramref name="sender"/> (the requester's subject, or the subject it asks for), recipient (the
    /// CA, or the NULL-DN when unknown), messageTime now, senderKID, transactionID, a fresh senderNonce, the recipNonce of the
    /// server's last message when continuing, and implicitConfirm when asked for.
    /// </summary>
    public static PkiHeader Header(X500DistinguishedName sender, X500DistinguishedName? recipient, ReadOnlyMemory<byte>? senderKid, ReadOnlyMemory<byte> transactionId,
        ReadOnlyMemory<byte>? recipNonce = null, bool implicitConfirm = false, DateTimeOffset? messageTime = null)
    {
        ArgumentNullException.ThrowIfNull(sender);
        DateTimeOffset now = messageTime ?? DateTimeOffset.UtcNow;
        return new PkiHeader
        {
            Sender = CmpGeneralName.FromDirectoryName(sender),
            Recipient = CmpGeneralName.FromDirectoryName(recipient ?? new X500DistinguishedName([0x30, 0x00])),
            MessageTime = CmpDer.WholeSeconds(now),
            SenderKid = senderKid,
            TransactionId = transactionId,
            SenderNonce = NewId(),
            RecipNonce = recipNonce,
            GeneralInfo = implicitConfirm ? [InfoTypeAndValue.ImplicitConfirm()] : null,
        };
    }

    /// <summary>
    /// An ir, cr or kur (<paramref name="type"/>) for <paramref name="key"/>'s public key with <paramref name="subject"/> and
    /// <paramref name="extensions"/> (e.g. subjectAltName), certReqId 0, with the signature proof of possession of RFC 4211 §4.1
    /// (over the DER of CertRequest). For kur, <paramref name="subject"/> may be null (the server keeps the old subject), and
    /// <paramref name="oldCertificate"/> (the certificate updated, which protects the kur) goes into the oldCertID control
    /// (RFC 4211 §6.5, RFC 9483 §4.1.3).
    /// </summary>
    public static PkiMessage CertificateRequest(PkiBodyType type, PkiHeader header, X500DistinguishedName? subject, AsymmetricAlgorithm key,
        IEnumerable<X509Extension>? extensions = null, X509Certificate2? oldCertificate = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(key);
        if (type is not (PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "ir, cr or kur");
        }

        byte[] spki = key switch
        {
            ECDsa ec => ec.ExportSubjectPublicKeyInfo(),
            RSA rsa => rsa.ExportSubjectPublicKeyInfo(),
            _ => throw new ArgumentException("ECDSA or RSA keys", nameof(key)),
        };
        var certRequest = new CertRequest
        {
            CertReqId = 0,
            Template = new CertTemplate
            {
                // A null byte[] would convert to an empty (present) ReadOnlyMemory, not to an absent field.
                Subject = subject is null ? null : (ReadOnlyMemory<byte>?)subject.RawData,
                PublicKey = spki,
                Extensions = extensions is null ? null : (ReadOnlyMemory<byte>?)EncodeExtensions(extensions),
            },
            Controls = oldCertificate is null ? null : (ReadOnlyMemory<byte>?)CrmfControls.EncodeOldCertId(oldCertificate.IssuerName, oldCertificate.SerialNumberBytes.Span),
        };

        // RFC 4211 §4.1: without poposkInput the signature is over the DER of CertRequest.
        byte[] signed = certRequest.GetEncoded().ToArray();
        (string algorithm, byte[] signature) = key switch
        {
            ECDsa ec => ec.KeySize > 256
                ? (EcdsaWithSha384, ec.SignData(signed, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence))
                : (EcdsaWithSha256, ec.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)),
            RSA rsa => (Sha256WithRsa, rsa.SignData(signed, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)),
            _ => throw new ArgumentException("ECDSA or RSA keys", nameof(key)),
        };
        return new PkiMessage
        {
            Header = header,
            Body = new CertReqMessagesBody(type)
            {
                Requests =
                [
                    new CertReqMsg
                    {
                        CertReq = certRequest,
                        Popo = new ProofOfPossession
                        {
                            Kind = ProofOfPossessionKind.Signature,
                            SignatureAlgorithm = new CmpAlgorithmIdentifier { Algorithm = algorithm, Parameters = key is RSA ? (ReadOnlyMemory<byte>?)new byte[] { 0x05, 0x00 } : null },
                            Signature = signature,
                        },
                    },
                ],
            },
        };
    }

    /// <summary>
    /// An ir, cr or kur asking for central key generation (RFC 9483 §4.1.6): a template without publicKey and no proof of
    /// possession; otherwise as <see cref="CertificateRequest"/>.
    /// </summary>
    public static PkiMessage CentralKeyGenerationRequest(PkiBodyType type, PkiHeader header, X500DistinguishedName? subject,
        IEnumerable<X509Extension>? extensions = null, X509Certificate2? oldCertificate = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (type is not (PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "ir, cr or kur");
        }

        var certRequest = new CertRequest
        {
            CertReqId = 0,
            Template = new CertTemplate
            {
                Subject = subject is null ? null : (ReadOnlyMemory<byte>?)subject.RawData,
                Extensions = extensions is null ? null : (ReadOnlyMemory<byte>?)EncodeExtensions(extensions),
            },
            Controls = oldCertificate is null ? null : (ReadOnlyMemory<byte>?)CrmfControls.EncodeOldCertId(oldCertificate.IssuerName, oldCertificate.SerialNumberBytes.Span),
        };
        return new PkiMessage { Header = header, Body = new CertReqMessagesBody(type) { Requests = [new CertReqMsg { CertReq = certRequest }] } };
    }

    /// <summary>A p10cr carrying a PKCS#10 request (RFC 9483 §4.1.4).</summary>
    public static PkiMessage Pkcs10(PkiHeader header, ReadOnlyMemory<byte> certificationRequest) =>
        new() { Header = header, Body = new P10crBody { CertificationRequest = certificationRequest } };

    /// <summary>
    /// certConf (RFC 9483 §4.1.1) accepting <paramref name="certificate"/> (certHash with the hash of its signature algorithm), or
    /// rejecting it with <paramref name="rejection"/>.
    /// </summary>
    public static PkiMessage CertificateConfirmation(PkiHeader header, X509Certificate2 certificate, long certReqId = 0, string? rejection = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        // A signature algorithm without a known hash (e.g. RSASSA-PSS) falls back to SHA-256.
        byte[] certHash = CmpCertificateHash.Compute(certificate.RawData, certificate.SignatureAlgorithm.Value) ?? SHA256.HashData(certificate.RawData);
        return new PkiMessage
        {
            Header = header,
            Body = new CertConfBody
            {
                Statuses =
                [
                    new CertStatus
                    {
                        CertHash = certHash,
                        CertReqId = certReqId,
                        StatusInfo = rejection is null ? null : new PkiStatusInfo { Status = (int)PkiStatus.Rejection, StatusString = [rejection], FailInfo = (int)PkiFailureInfo.BadCertTemplate },
                    },
                ],
            },
        };
    }

    /// <summary>pollReq for <paramref name="certReqId"/> (RFC 9483 §4.4).</summary>
    public static PkiMessage Poll(PkiHeader header, long certReqId = 0) => new() { Header = header, Body = new PollReqBody { CertReqIds = [certReqId] } };

    /// <summary>rr (RFC 9483 §4.2) for the certificate <paramref name="serialNumber"/> of <paramref name="issuer"/>, with a CRLReason.</summary>
    public static PkiMessage Revocation(PkiHeader header, X500DistinguishedName issuer, ReadOnlyMemory<byte> serialNumber, int reason = 0)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        var value = new AsnWriter(AsnEncodingRules.DER);
        value.WriteEnumeratedValue((X509RevocationReason)reason);
        var extensions = new AsnWriter(AsnEncodingRules.DER);
        using (extensions.PushSequence())
        using (extensions.PushSequence())
        {
            extensions.WriteObjectIdentifier("2.5.29.21");
            extensions.WriteOctetString(value.Encode());
        }

        return new PkiMessage
        {
            Header = header,
            Body = new RevReqBody
            {
                Requests = [new RevDetails { CertDetails = new CertTemplate { Issuer = issuer.RawData, SerialNumber = serialNumber }, CrlEntryDetails = extensions.Encode() }],
            },
        };
    }

    /// <summary>genm (RFC 9483 §4.3) asking for <paramref name="infoTypes"/> (see <see cref="CmpInfoTypes"/>), each without value.</summary>
    public static PkiMessage General(PkiHeader header, params string[] infoTypes) =>
        new() { Header = header, Body = new GenMsgBody(PkiBodyType.Genm) { Items = [.. infoTypes.Select(t => new InfoTypeAndValue { InfoType = t })] } };

    private static byte[] EncodeExtensions(IEnumerable<X509Extension> extensions)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (X509Extension extension in extensions)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(extension.Oid!.Value!);
                    if (extension.Critical)
                    {
                        writer.WriteBoolean(true);
                    }

                    writer.WriteOctetString(extension.RawData);
                }
            }
        }

        return writer.Encode();
    }
}
