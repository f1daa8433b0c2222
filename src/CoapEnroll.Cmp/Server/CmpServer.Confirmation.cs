using System.Security.Cryptography;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// The checks of a message that continues a transaction (certConf, pollReq, error): the transaction is open in the store (opened
    /// on this node or another), it is the same requester's, and recipNonce echoes the senderNonce of the server's last answer
    /// (compared in fixed time). Returns the transaction, or the refusal.
    /// </summary>
    private async Task<(CmpTransaction? Transaction, PkiMessage? Refusal)> CheckContinuationAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        CmpTransaction? transaction = await ReadTransactionAsync(exchange, cancellationToken);
        if (transaction is null)
        {
            return (null, ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "no open transaction has this transactionID (finished, expired or never started)"));
        }

        if (!string.Equals(transaction.Requester, exchange.Requester!.Name, StringComparison.Ordinal))
        {
            return (null, ErrorAnswer(exchange, PkiFailureInfo.NotAuthorized, "the transaction belongs to another requester"));
        }

        if (exchange.Request.Header.RecipNonce is not { } recipNonce || !CryptographicOperations.FixedTimeEquals(recipNonce.Span, transaction.ExpectedRecipNonce))
        {
            return (null, ErrorAnswer(exchange, PkiFailureInfo.BadRecipientNonce, "recipNonce does not echo the senderNonce of the server's last message"));
        }

        return (transaction, null);
    }

    /// <summary>
    /// certConf (RFC 9483 §4.1.1): the requester accepts the certificate (the hash matches: pkiConf) or rejects it (it is revoked:
    /// pkiConf as well). A hash that matches nothing revokes the certificate and is an error.
    /// </summary>
    private async Task<PkiMessage> ConfirmAsync(CmpExchange exchange, CertConfBody body, CancellationToken cancellationToken)
    {
        (CmpTransaction? transaction, PkiMessage? refusal) = await CheckContinuationAsync(exchange, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (transaction!.State != CmpTransactionState.AwaitingConfirmation)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "nothing to confirm yet: the request waits for an operator (poll with pollReq)");
        }

        if (body.Statuses.Count != 1 || body.Statuses[0].CertReqId != transaction.CertReqId)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadCertId, $"certConf must carry exactly one CertStatus for certReqId {transaction.CertReqId}");
        }

        if (!await CloseAsync(transaction, cancellationToken))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "the transaction was closed meanwhile");
        }

        CertStatus status = body.Statuses[0];
        if (status.StatusInfo is { Status: (int)PkiStatus.Rejection })
        {
            string why = status.StatusInfo.StatusString is { Count: > 0 } text ? string.Join("; ", text) : "no reason given";
            await RevokeUnconfirmedAsync(transaction.CertificateSerial!, transaction.Requester, $"rejected by the requester in certConf: {why}", cancellationToken);
            return Answer(exchange, new PkiConfBody());
        }

        byte[]? expected = CertificateHash(transaction.CertificateDer!, status.HashAlg?.Algorithm);
        if (expected is null || !CryptographicOperations.FixedTimeEquals(expected, status.CertHash.Span))
        {
            await RevokeUnconfirmedAsync(transaction.CertificateSerial!, transaction.Requester, "certConf with a certHash of another certificate", cancellationToken);
            return ErrorAnswer(exchange, PkiFailureInfo.BadCertId, "certHash is not the hash of the issued certificate; the certificate is revoked");
        }

        LogConfirmed(_logger, exchange.Context.FrontEnd, exchange.Who, transaction.CertificateSerial!);
        return Answer(exchange, new PkiConfBody());
    }

    /// <summary>pollReq (RFC 9483 §4.4): still waiting (pollRep with checkAfter), or the final answer once an operator decided.</summary>
    private async Task<PkiMessage> PollAsync(CmpExchange exchange, PollReqBody body, CancellationToken cancellationToken)
    {
        (CmpTransaction? transaction, PkiMessage? refusal) = await CheckContinuationAsync(exchange, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (transaction!.State != CmpTransactionState.Pending)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "nothing to poll for: the certificate was issued and waits for certConf");
        }

        if (body.CertReqIds.Count != 1 || body.CertReqIds[0] != transaction.CertReqId)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadCertId, $"pollReq must name exactly certReqId {transaction.CertReqId}");
        }

        // Polled at the node that opened it, the authorization it keeps; at another, the opening request authorized again.
        EnrollmentAuthorization? authorization = transaction.Authorization ?? await AuthorizeAgainAsync(exchange, transaction, cancellationToken);
        if (authorization is not { IsAuthorized: true })
        {
            await CloseAsync(transaction, cancellationToken);
            return authorization?.Refusal is { } refused
                ? Rejected(exchange, AnswerTypeOf(transaction.RequestType), transaction.CertReqId, FailureOf(refused.Reason), refused.Detail ?? refused.Reason.ToString())
                : ErrorAnswer(exchange, PkiFailureInfo.SystemFailure, "the request of this transaction cannot be read again");
        }

        transaction.Authorization = authorization;
        byte[] senderNonce = RandomNumberGenerator.GetBytes(NonceLength);
        using EnrollmentOutcome outcome = await _enrollment.IssueAsync(authorization, cancellationToken);
        if (outcome.Status == EnrollmentStatus.Pending)
        {
            transaction.ExpectedRecipNonce = senderNonce;
            if (!await SaveAsync(transaction, cancellationToken))
            {
                return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "the transaction was closed or continued by another message meanwhile");
            }

            long checkAfter = Math.Max(1, (long)Math.Ceiling(outcome.RetryAfter.TotalSeconds));
            return Answer(exchange, new PollRepBody
            {
                Entries = [new PollRepEntry { CertReqId = transaction.CertReqId, CheckAfter = checkAfter, Reason = [$"request {outcome.RequestId} still waits for an operator"] }],
            }, null, senderNonce);
        }

        bool implicitConfirm = transaction.ImplicitConfirmRequested && Options.GrantImplicitConfirm;
        return await AnswerOutcomeAsync(exchange, transaction, AnswerTypeOf(transaction.RequestType), outcome, implicitConfirm, senderNonce, cancellationToken);
    }

    /// <summary>An error from the requester (RFC 9483 §3.6.4) ends its transaction (an unconfirmed certificate is revoked) and is answered with pkiConf.</summary>
    private async Task<PkiMessage> AbortAsync(CmpExchange exchange, ErrorBody body, CancellationToken cancellationToken)
    {
        (CmpTransaction? transaction, PkiMessage? refusal) = await CheckContinuationAsync(exchange, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (await CloseAsync(transaction!, cancellationToken) && transaction!.CertificateSerial is { } serial)
        {
            string why = body.StatusInfo.StatusString is { Count: > 0 } text ? string.Join("; ", text) : "no reason given";
            await RevokeUnconfirmedAsync(serial, transaction.Requester, $"the requester sent an error: {why}", cancellationToken);
        }

        return Answer(exchange, new PkiConfBody());
    }

    /// <summary>
    /// The certHash of certConf (RFC 9810 §5.3.18): with hashAlg when given, else the hash of the certificate's signature
    /// algorithm. Null for algorithms this server does not hash with.
    /// </summary>
    private static byte[]? CertificateHash(byte[] certificateDer, string? hashAlgorithm)
    {
        if (hashAlgorithm is null)
        {
            using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificateDer);
            hashAlgorithm = certificate.SignatureAlgorithm.Value;
        }

        return CmpCertificateHash.Compute(certificateDer, hashAlgorithm);
    }
}
