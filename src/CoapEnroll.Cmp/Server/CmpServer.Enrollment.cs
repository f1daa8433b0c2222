using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>ir, cr, kur (RFC 9483 §4.1.1–§4.1.3): exactly one CertReqMsg with certReqId 0, converted and handed to the enrollment core.</summary>
    private async Task<PkiMessage> EnrollAsync(CmpExchange exchange, CertReqMessagesBody body, CancellationToken cancellationToken)
    {
        PkiBodyType answerType = AnswerTypeOf(body.BodyType);
        if (body.Requests.Count != 1)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"exactly one CertReqMsg per request (got {body.Requests.Count})");
        }

        CertReqMsg message = body.Requests[0];
        long certReqId = message.CertReq.CertReqId;
        if (certReqId != 0)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"certReqId must be 0 (got {certReqId})");
        }

        if (body.BodyType == PkiBodyType.Kur && OldCertIdProblem(exchange, message.CertReq) is { } wrongCertificate)
        {
            return Rejected(exchange, answerType, certReqId, PkiFailureInfo.BadCertId, wrongCertificate);
        }

        CrmfConversion conversion = CrmfRequests.Convert(message);
        if (conversion.CentralKeyGeneration && CentralKeyGenerationProblem(exchange, body.BodyType) is { } problem)
        {
            return Rejected(exchange, answerType, certReqId, PkiFailureInfo.BadCertTemplate, problem);
        }

        if (!conversion.IsSuccess || conversion.Request is not { } request)
        {
            return await RefuseDecodedAsync(exchange, answerType, certReqId, conversion.Failure, conversion.Detail ?? "the certificate request is not acceptable",
                message.CertReq.GetEncoded(), cancellationToken);
        }

        EnrollmentOperation operation = conversion.CentralKeyGeneration ? EnrollmentOperation.ServerKeyGeneration
            : body.BodyType == PkiBodyType.Kur ? EnrollmentOperation.Reenroll
            : EnrollmentOperation.Enroll;
        return await AuthorizeAndIssueAsync(exchange, answerType, certReqId, operation, request, cancellationToken);
    }

    /// <summary>
    /// Why a kur's oldCertID control (RFC 4211 §6.5) is not acceptable, or null: when present it must name the certificate that
    /// protects the kur (RFC 9483 §4.1.3), the one that is updated.
    /// </summary>
    private static string? OldCertIdProblem(CmpExchange exchange, CertRequest request)
    {
        bool present;
        byte[] issuer;
        byte[] serial;
        try
        {
            present = CrmfControls.TryReadOldCertId(request.Controls, out issuer, out serial);
        }
        catch (System.Formats.Asn1.AsnContentException ex)
        {
            return $"the controls cannot be decoded: {ex.Message}";
        }

        if (!present)
        {
            return null;
        }

        if (exchange.Requester?.Certificate is not { } protection)
        {
            return "oldCertID names a certificate, but the kur is not signed with a certificate";
        }

        return issuer.AsSpan().SequenceEqual(protection.IssuerName.RawData) && serial.AsSpan().SequenceEqual(protection.SerialNumberBytes.Span)
            ? null
            : $"oldCertID (serial {Convert.ToHexString(serial)}) is not the certificate that signs the kur (serial {protection.SerialNumber})";
    }

    /// <summary>p10cr (RFC 9483 §4.1.4): a PKCS#10 request; the answer is a cp with certReqId -1.</summary>
    private async Task<PkiMessage> EnrollPkcs10Async(CmpExchange exchange, P10crBody body, CancellationToken cancellationToken)
    {
        const long certReqId = -1;
        CertificationRequestDecodeStatus status = CertificationRequest.DecodePkcs10(body.CertificationRequest, out CertificationRequest? request, out string? detail);
        if (status != CertificationRequestDecodeStatus.Decoded || request is null)
        {
            return await RefuseDecodedAsync(exchange, PkiBodyType.Cp, certReqId, PkiFailureInfo.BadDataFormat,
                $"the PKCS#10 request cannot be used: {detail ?? status.ToString()}", body.CertificationRequest, cancellationToken);
        }

        return await AuthorizeAndIssueAsync(exchange, PkiBodyType.Cp, certReqId, EnrollmentOperation.Enroll, request, cancellationToken);
    }

    /// <summary>A request that could not be read is recorded as refused for the authenticated requester, then answered with its failInfo.</summary>
    private async Task<PkiMessage> RefuseDecodedAsync(CmpExchange exchange, PkiBodyType answerType, long certReqId, PkiFailureInfo failure, string detail,
        ReadOnlyMemory<byte> received, CancellationToken cancellationToken)
    {
        EnrollmentOperation operation = answerType == PkiBodyType.Kup ? EnrollmentOperation.Reenroll : EnrollmentOperation.Enroll;
        await _enrollment.RefuseAsync(exchange.Requester!, operation, Name(exchange.Request.Body.BodyType), exchange.Context.ProfileLabel, received,
            failure == PkiFailureInfo.BadPop ? RejectionReason.BadSignature : RejectionReason.MalformedRequest, detail, cancellationToken);
        return Rejected(exchange, answerType, certReqId, failure == PkiFailureInfo.None ? PkiFailureInfo.BadCertTemplate : failure, detail);
    }

    private async Task<PkiMessage> AuthorizeAndIssueAsync(CmpExchange exchange, PkiBodyType answerType, long certReqId, EnrollmentOperation operation,
        CertificationRequest request, CancellationToken cancellationToken)
    {
        EnrollmentAuthorization authorization = await _enrollment.AuthorizeAsync(new EnrollmentRequest
        {
            Requester = exchange.Requester!,
            Operation = operation,
            OperationName = Name(exchange.Request.Body.BodyType),
            ProfileName = exchange.Context.ProfileLabel,
            Request = request,
        }, cancellationToken);
        if (authorization.Refusal is { } refusal)
        {
            return Rejected(exchange, answerType, certReqId, FailureOf(refusal.Reason), refusal.Detail ?? refusal.Reason.ToString());
        }

        // A transaction that may outlive this message (waiting for certConf or an operator) must fit in the requester's share
        // before anything is issued: nothing issued may be left without its transaction. Its opening message is kept while it may
        // wait for an operator, so that any node can answer the poll.
        if (exchange.Der.Length > CmpTransactionRecord.MaxOpeningMessage)
        {
            return Rejected(exchange, answerType, certReqId, PkiFailureInfo.BadDataFormat,
                $"a request of more than {CmpTransactionRecord.MaxOpeningMessage} bytes is not kept for its transaction");
        }

        bool implicitConfirm = exchange.Request.Header.ImplicitConfirm && Options.GrantImplicitConfirm;
        byte[] senderNonce = RandomNumberGenerator.GetBytes(NonceLength);
        var transaction = new CmpTransaction
        {
            Id = exchange.TransactionId,
            Requester = exchange.Requester!.Name,
            Opener = exchange.Requester,
            State = CmpTransactionState.Pending,
            RequestType = exchange.Request.Body.BodyType,
            CertReqId = certReqId,
            ExpectedRecipNonce = senderNonce,
            Deadline = _time.GetUtcNow() + Options.PendingLifetime,
            ImplicitConfirmRequested = exchange.Request.Header.ImplicitConfirm,
            ProfileLabel = exchange.Context.ProfileLabel,
            OpeningMessage = exchange.Der.ToArray(),
            Authorization = authorization,
        };
        if (await OpenTransactionAsync(exchange, transaction, cancellationToken) is { } refused)
        {
            return refused;
        }

        if (!await ConsumeOneTimeSecretAsync(exchange, cancellationToken))
        {
            await CloseAsync(transaction, CancellationToken.None);
            return ErrorAnswer(exchange, PkiFailureInfo.NotAuthorized, $"the one-time shared secret '{PrintableText.Escape(exchange.Reference!)}' was used by another enrollment");
        }

        EnrollmentOutcome outcome;
        try
        {
            outcome = await _enrollment.IssueAsync(authorization, cancellationToken);
        }
        catch (Exception failure)
        {
            // Each clean-up on its own and the secret first: the store may be what failed, and a transaction that cannot be closed
            // must not keep the secret spent (its retry would be refused as "used by another enrollment"). A clean-up that fails
            // too is logged; the issuance's own exception is the one answered.
            await CleanUpAsync(exchange, "giving the one-time secret back", () => ReleaseOneTimeSecretAsync(exchange, CancellationToken.None), failure);
            await CleanUpAsync(exchange, "closing the transaction", () => CloseAsync(transaction, CancellationToken.None), failure);
            throw;
        }

        exchange.OutcomeStored = outcome.Status is EnrollmentStatus.Issued or EnrollmentStatus.Pending;
        using (outcome)
        {
            // A one-time secret is spent by a certificate, or by a request an operator now decides on; a refusal leaves it unused.
            if (outcome.Status is not (EnrollmentStatus.Issued or EnrollmentStatus.Pending))
            {
                await ReleaseOneTimeSecretAsync(exchange, cancellationToken);
            }

            return await AnswerOutcomeAsync(exchange, transaction, answerType, outcome, implicitConfirm, senderNonce, cancellationToken);
        }
    }

    private async Task CleanUpAsync(CmpExchange exchange, string what, Func<Task> cleanUp, Exception cause)
    {
        try
        {
            await cleanUp();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCleanUpFailed(_logger, ex, exchange.Context.FrontEnd, exchange.Who, what, cause.GetType().Name);
        }
    }

    /// <summary>
    /// The answer to an issuance (first or after polling): issued (with implicit confirmation granted, or waiting for certConf),
    /// waiting for an operator, or refused. Closes the transaction unless it waits for something, and stores what it waits for.
    /// </summary>
    private async Task<PkiMessage> AnswerOutcomeAsync(CmpExchange exchange, CmpTransaction transaction, PkiBodyType answerType, EnrollmentOutcome outcome,
        bool implicitConfirm, byte[] senderNonce, CancellationToken cancellationToken)
    {
        long certReqId = transaction.CertReqId;
        switch (outcome.Status)
        {
            case EnrollmentStatus.Issued:
                IssuedCertificate certificate = outcome.IssuedCertificate!;
                IReadOnlyList<InfoTypeAndValue>? info;
                if (implicitConfirm)
                {
                    await CloseAsync(transaction, cancellationToken);
                    info = [InfoTypeAndValue.ImplicitConfirm()];
                    LogIssued(_logger, exchange.Context.FrontEnd, exchange.Who, certificate.SerialNumber, true);
                }
                else
                {
                    DateTimeOffset deadline = _time.GetUtcNow() + Options.ConfirmWaitTime;
                    transaction.State = CmpTransactionState.AwaitingConfirmation;
                    transaction.CertificateDer = certificate.Der;
                    transaction.CertificateSerial = certificate.SerialNumber;
                    transaction.Deadline = deadline;
                    transaction.ExpectedRecipNonce = senderNonce;
                    transaction.OpeningMessage = null;
                    transaction.Authorization = null;
                    bool saved;
                    try
                    {
                        saved = await SaveAsync(transaction, cancellationToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The certificate is stored but its wait for certConf is not: no sweep would revoke it unconfirmed (RFC 9483
                        // §4.1.1), and the requester is not sent it. Revoked now (or, failing that, named in an error for an operator).
                        await RevokeUnconfirmedAsync(certificate.SerialNumber, exchange.Who, "its wait for certConf could not be stored", CancellationToken.None);
                        throw;
                    }

                    if (!saved)
                    {
                        return await LostTransactionAsync(exchange, transaction, outcome.Repeated, cancellationToken);
                    }

                    info = [InfoTypeAndValue.ConfirmWaitTime(CmpDer.WholeSeconds(deadline))];
                    LogIssued(_logger, exchange.Context.FrontEnd, exchange.Who, certificate.SerialNumber, false);
                }

                if (outcome.Repeated)
                {
                    // The request was answered before in another transaction, whose answer the requester evidently lost: this answer is the
                    // one it confirms (or confirmed implicitly), so the earlier transaction's missing certConf must not revoke the certificate.
                    _transactions.CloseOthersAwaitingConfirmation(certificate.SerialNumber, transaction);
                    await TransactionStore.CloseTransactionsAsync(transaction.Requester, certificate.SerialNumber, CmpTransactionRecord.StoreId(transaction.Id),
                        _time.GetUtcNow() + Options.MessageTimeTolerance, cancellationToken);
                }

                ReadOnlyMemory<byte>? privateKey = outcome.GeneratedKey is { } generated ? (ReadOnlyMemory<byte>?)EncryptGeneratedKey(exchange, generated) : null;

                // RFC 9483 §4.1.1: extraCerts carry the chain of the new certificate; with MAC protection caPubs carries the root
                // the requester could not otherwise learn to trust.
                exchange.ExtraCertificates.AddRange(outcome.Chain);
                IReadOnlyList<ReadOnlyMemory<byte>>? caPubs = exchange.Secret is not null && exchange.Request.Body.BodyType == PkiBodyType.Ir
                    ? [_enrollment.Hierarchy.TrustAnchor.RawData]
                    : null;
                return Answer(exchange, new CertRepMessageBody(answerType)
                {
                    CaPubs = caPubs,
                    Responses = [new CertResponse { CertReqId = certReqId, Status = Accepted(), CertifiedKeyPair = new CertifiedKeyPair { Certificate = certificate.Der, PrivateKey = privateKey } }],
                }, info, senderNonce);

            case EnrollmentStatus.Pending:
                transaction.ExpectedRecipNonce = senderNonce;
                if (!await SaveAsync(transaction, cancellationToken))
                {
                    return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "the transaction was closed or continued by another message meanwhile");
                }

                LogPending(_logger, exchange.Context.FrontEnd, exchange.Who, outcome.RequestId ?? 0);
                return Answer(exchange, new CertRepMessageBody(answerType)
                {
                    Responses = [new CertResponse
                    {
                        CertReqId = certReqId,
                        Status = new PkiStatusInfo { Status = (int)PkiStatus.Waiting, StatusString = [$"request {outcome.RequestId} waits for an operator's approval; poll with pollReq"] },
                    }],
                }, null, senderNonce);

            default:
                await CloseAsync(transaction, cancellationToken);
                return Rejected(exchange, answerType, certReqId, FailureOf(outcome.Reason), outcome.Detail ?? outcome.Reason.ToString());
        }
    }

    /// <summary>
    /// A certificate was issued for a transaction that another message closed or continued meanwhile (the sweep, or a second pollReq
    /// on another node): it is not delivered in this answer. Unless the store holds the transaction open awaiting exactly this
    /// certificate (the other message delivers it), a certificate issued for this answer alone is revoked: none may stay valid unconfirmed.
    /// </summary>
    private async Task<PkiMessage> LostTransactionAsync(CmpExchange exchange, CmpTransaction transaction, bool repeated, CancellationToken cancellationToken)
    {
        StoredTransaction? now = await TransactionStore.GetTransactionAsync(CmpTransactionRecord.StoreId(transaction.Id), cancellationToken);
        bool deliveredElsewhere = now is { Closed: false } && string.Equals(now.Reference, transaction.CertificateSerial, StringComparison.Ordinal);
        if (!deliveredElsewhere && !repeated)
        {
            await RevokeUnconfirmedAsync(transaction.CertificateSerial!, transaction.Requester, "its transaction was closed before the certificate could wait for certConf",
                cancellationToken);
        }

        return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, "the transaction was closed or continued by another message meanwhile");
    }

    /// <summary>
    /// Why a central key generation request (RFC 9483 §4.1.6) cannot be served, or null: the key must be deliverable to the requester
    /// (its shared secret, or the EC or RSA key of the certificate it signed with) before anything is issued. kur keeps its key
    /// holder's key pair here: only ir and cr ask for a new one.
    /// </summary>
    private static string? CentralKeyGenerationProblem(CmpExchange exchange, PkiBodyType requestType)
    {
        if (requestType == PkiBodyType.Kur)
        {
            return "central key generation (a template without publicKey) is offered for ir and cr, not kur; send the new public key with proof of possession";
        }

        return exchange.Secret is not null ? null : CmpKeyDelivery.CheckRecipient(exchange.Requester?.Certificate);
    }

    /// <summary>
    /// The privateKey of the answer (RFC 9483 §4.1.6): the generated key signed by this server's CMP signer and encrypted to the
    /// requester as it authenticated. The answer carrying it is CMP version 3 (RFC 9483 §3.1).
    /// </summary>
    private byte[] EncryptGeneratedKey(CmpExchange exchange, ECDsa generated)
    {
        byte[] pkcs8 = generated.ExportPkcs8PrivateKey();
        try
        {
            exchange.AnswerPvno = 3;
            return exchange.Secret is { } secret
                ? CmpKeyDelivery.ForSecret(pkcs8, secret, _credential.Certificate, _credential.Chain)
                : CmpKeyDelivery.ForCertificate(pkcs8, exchange.Requester!.Certificate!, _credential.Certificate, _credential.Chain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private PkiMessage Rejected(CmpExchange exchange, PkiBodyType answerType, long certReqId, PkiFailureInfo failure, string text)
    {
        LogRefusal(_logger, exchange.Context.FrontEnd, exchange.Who, failure.ToString(), text);
        return Answer(exchange, new CertRepMessageBody(answerType)
        {
            Responses = [new CertResponse { CertReqId = certReqId, Status = Rejection(failure, text) }],
        });
    }

    private static PkiBodyType AnswerTypeOf(PkiBodyType request) => request switch
    {
        PkiBodyType.Ir => PkiBodyType.Ip,
        PkiBodyType.Kur => PkiBodyType.Kup,
        _ => PkiBodyType.Cp,
    };

    /// <summary>The failInfo bit for the enrollment core's reason (RFC 9810 §5.2.3).</summary>
    private static PkiFailureInfo FailureOf(RejectionReason reason) => reason switch
    {
        RejectionReason.BadSignature => PkiFailureInfo.BadPop,
        RejectionReason.UnsupportedKeyType or RejectionReason.KeyTooWeak or RejectionReason.UnsupportedAlgorithm => PkiFailureInfo.BadAlg,
        RejectionReason.MalformedRequest or RejectionReason.InvalidParameter => PkiFailureInfo.BadDataFormat,
        RejectionReason.SubjectNotAllowed or RejectionReason.SubjectAltNameNotAllowed or RejectionReason.KeyNotAllowed
            or RejectionReason.UnsatisfiableRequest => PkiFailureInfo.BadCertTemplate,
        RejectionReason.RequestKeyConflict => PkiFailureInfo.DuplicateCertReq,
        RejectionReason.CertificateNoLongerActive => PkiFailureInfo.CertRevoked,
        RejectionReason.UnknownProfile => PkiFailureInfo.BadRequest,
        RejectionReason.TooManyPendingRequests => PkiFailureInfo.SystemUnavail,
        _ => PkiFailureInfo.NotAuthorized,
    };
}
