using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    private const string ReasonCodeOid = "2.5.29.21";

    /// <summary>CRLReason cessationOfOperation (RFC 5280 §5.3.1): what an unconfirmed or rejected certificate is revoked with.</summary>
    private const int CessationOfOperation = 5;

    /// <summary>rr (RFC 9483 §4.2): one RevDetails naming issuer and serialNumber of a certificate of this CA, reasonCode optional.</summary>
    private async Task<PkiMessage> RevokeAsync(CmpExchange exchange, RevReqBody body, CancellationToken cancellationToken)
    {
        if (body.Requests.Count != 1)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"exactly one RevDetails per rr (got {body.Requests.Count})");
        }

        RevDetails details = body.Requests[0];
        if (details.CertDetails is not { Issuer: { } issuer, SerialNumber: { } serial })
        {
            return RevocationRefused(exchange, PkiFailureInfo.BadRequest, "certDetails must name the issuer and serialNumber of the certificate to revoke");
        }

        if (!issuer.Span.SequenceEqual(_enrollment.Hierarchy.IssuingCa.SubjectName.RawData))
        {
            return RevocationRefused(exchange, PkiFailureInfo.BadCertId, "the issuer is not this CA's issuing CA");
        }

        if (ReadReasonCode(details.CrlEntryDetails, out int reason) is { } problem)
        {
            return RevocationRefused(exchange, PkiFailureInfo.BadRequest, problem);
        }

        string serialHex = Convert.ToHexString(serial.Span);
        RevocationOutcome outcome = await _enrollment.RevokeAsync(exchange.Requester!, serialHex, reason, cancellationToken);
        LogRevocation(_logger, exchange.Context.FrontEnd, exchange.Who, serialHex, outcome.Status.ToString());
        if (outcome.Status == RevocationOutcomeStatus.Revoked)
        {
            OnCertificateRevoked(serialHex, reason);
        }

        return outcome.Status switch
        {
            RevocationOutcomeStatus.Revoked => Answer(exchange, new RevRepBody { Statuses = [Accepted("revoked")] }),
            RevocationOutcomeStatus.AlreadyRevoked => RevocationRefused(exchange, PkiFailureInfo.CertRevoked, "the certificate is already revoked"),
            RevocationOutcomeStatus.Unknown => RevocationRefused(exchange, PkiFailureInfo.BadCertId, outcome.Detail ?? "no such certificate"),
            _ => RevocationRefused(exchange, PkiFailureInfo.NotAuthorized, outcome.Detail ?? "this requester may not revoke that certificate"),
        };
    }

    /// <summary>
    /// The answer to an rr signed by the certificate it asks to revoke when that certificate is revoked already, or null for any other
    /// message: the rp that any requester gets for an already revoked certificate (RFC 9483 §4.2: rejection, certRevoked). Typically the
    /// holder repeats an rr whose answer was lost; the signature proves it holds the key, so it learns no more than that its own
    /// certificate is revoked, which the error message for its signature would tell it too. A superseded signer gets that error message.
    /// </summary>
    private async Task<PkiMessage?> RevokedSelfRevocationAsync(CmpExchange exchange, X509Certificate2 signer, CancellationToken cancellationToken)
    {
        if (exchange.Request.Body is not RevReqBody { Requests: [{ CertDetails: { Issuer: { } issuer, SerialNumber: { } serial } }] }
            || !issuer.Span.SequenceEqual(signer.IssuerName.RawData) || !serial.Span.SequenceEqual(signer.SerialNumberBytes.Span)
            || await _enrollment.Authority.Store.GetCertificateAsync(signer.SerialNumber, cancellationToken) is not { Status: CertificateStatus.Revoked } stored
            || !stored.Der.AsSpan().SequenceEqual(signer.RawData))
        {
            return null;
        }

        LogRevocation(_logger, exchange.Context.FrontEnd, exchange.Who, signer.SerialNumber, RevocationOutcomeStatus.AlreadyRevoked.ToString());
        return RevocationRefused(exchange, PkiFailureInfo.CertRevoked, "the certificate is already revoked");
    }

    private PkiMessage RevocationRefused(CmpExchange exchange, PkiFailureInfo failure, string text)
    {
        LogRefusal(_logger, exchange.Context.FrontEnd, exchange.Who, failure.ToString(), text);
        return Answer(exchange, new RevRepBody { Statuses = [Rejection(failure, text)] });
    }

    /// <summary>The reasonCode extension of crlEntryDetails (RFC 5280 §5.3.1); unspecified (0) when absent. Returns the problem, or null.</summary>
    private static string? ReadReasonCode(ReadOnlyMemory<byte>? crlEntryDetails, out int reason)
    {
        reason = 0;
        if (crlEntryDetails is not { } der)
        {
            return null;
        }

        try
        {
            var extensions = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            while (extensions.HasData)
            {
                AsnReader extension = extensions.ReadSequence();
                string oid = extension.ReadObjectIdentifier();
                if (extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
                {
                    extension.ReadBoolean();
                }

                byte[] value = extension.ReadOctetString();
                if (oid != ReasonCodeOid)
                {
                    continue;
                }

                var reader = new AsnReader(value, AsnEncodingRules.DER);
                ReadOnlyMemory<byte> enumerated = reader.ReadEnumeratedBytes();
                reader.ThrowIfNotEmpty();
                int code = enumerated.Length == 1 ? enumerated.Span[0] : -1;
                if (!RevocationReasons.IsValid(code))
                {
                    return $"reasonCode {code}: {RevocationReasons.ValidText}";
                }

                reason = code;
            }

            return null;
        }
        catch (AsnContentException)
        {
            return "crlEntryDetails is not a DER Extensions sequence";
        }
    }

    /// <summary>Revokes a certificate its requester never confirmed or rejected; logged, never thrown (the answer goes out anyway).</summary>
    private async Task RevokeUnconfirmedAsync(string serial, string requester, string why, CancellationToken cancellationToken)
    {
        try
        {
            RevocationResult result = await _enrollment.Authority.RevokeAsync(serial, CessationOfOperation, $"cmp ({requester}): {why}", cancellationToken);
            LogUnconfirmedRevoked(_logger, serial, requester, why, result.Status.ToString());
            if (result.Status == RevocationStatus.Revoked)
            {
                OnCertificateRevoked(serial, CessationOfOperation);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnconfirmedNotRevoked(_logger, ex, serial, requester, why);
        }
    }
}
