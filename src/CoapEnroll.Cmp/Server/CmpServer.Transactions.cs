using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    private static bool IsContinuation(PkiBodyType type) => type is PkiBodyType.CertConf or PkiBodyType.PollReq or PkiBodyType.Error;

    /// <summary>
    /// The open transaction this message continues, as the store holds it (read once per message), with what this node's own copy
    /// adds when it opened it; null when the store has none open.
    /// </summary>
    private async Task<CmpTransaction?> ReadTransactionAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        if (!exchange.TransactionRead)
        {
            StoredTransaction? stored = await TransactionStore.GetTransactionAsync(CmpTransactionRecord.StoreId(exchange.TransactionId), cancellationToken);
            if (stored is { Closed: false })
            {
                CmpTransaction transaction = CmpTransactionRecord.FromStored(stored);
                if (_transactions.Find(transaction.Id) is { } local && string.Equals(local.Requester, transaction.Requester, StringComparison.Ordinal))
                {
                    transaction = WithLocal(transaction, local);
                }

                exchange.Transaction = transaction;
            }

            exchange.TransactionRead = true;
        }

        return exchange.Transaction;
    }

    /// <summary>The stored transaction with what only the opening node knows: the opener, and the authorization while it waits.</summary>
    private static CmpTransaction WithLocal(CmpTransaction stored, CmpTransaction local) => new()
    {
        Id = stored.Id,
        Requester = stored.Requester,
        Opener = local.Opener,
        State = stored.State,
        RequestType = stored.RequestType,
        CertReqId = stored.CertReqId,
        ExpectedRecipNonce = stored.ExpectedRecipNonce,
        Deadline = stored.Deadline,
        ImplicitConfirmRequested = stored.ImplicitConfirmRequested,
        ProfileLabel = stored.ProfileLabel,
        OpeningMessage = stored.OpeningMessage,
        Authorization = stored.State == CmpTransactionState.Pending ? local.Authorization : null,
        CertificateDer = stored.CertificateDer,
        CertificateSerial = stored.CertificateSerial,
        Version = stored.Version,
    };

    /// <summary>
    /// Opens <paramref name="transaction"/>: in this node's bounds, then in the store, where its transactionID must be unused on every
    /// node. Returns the refusal, or null when it is open.
    /// </summary>
    private async Task<PkiMessage?> OpenTransactionAsync(CmpExchange exchange, CmpTransaction transaction, CancellationToken cancellationToken)
    {
        CmpTransactionAddResult added = _transactions.TryOpen(transaction);
        if (added == CmpTransactionAddResult.TooManyForRequester && await ForgetClosedElsewhereAsync(transaction.Requester, cancellationToken) > 0)
        {
            added = _transactions.TryOpen(transaction);
        }

        switch (added)
        {
            case CmpTransactionAddResult.InUse:
                return ErrorAnswer(exchange, PkiFailureInfo.TransactionIdInUse, "this transactionID is in use");
            case CmpTransactionAddResult.TooManyForRequester:
                return ErrorAnswer(exchange, PkiFailureInfo.SystemUnavail,
                    $"this requester has {Options.MaxOpenTransactionsPerRequester} open transactions; confirm or finish them first");
            case CmpTransactionAddResult.TooMany:
                return ErrorAnswer(exchange, PkiFailureInfo.SystemUnavail, "the server has too many open transactions; retry later");
        }

        if (!await TransactionStore.TryAddTransactionAsync(CmpTransactionRecord.ToStored(transaction), cancellationToken))
        {
            _transactions.TryClose(transaction.Id);
            return ErrorAnswer(exchange, PkiFailureInfo.TransactionIdInUse, "this transactionID is in use");
        }

        transaction.Version = 1;
        return null;
    }

    /// <summary>
    /// Forgets the transactions of <paramref name="requester"/> this node opened that another node closed meanwhile (a certConf
    /// that reached another node); returns how many. Only when the requester's share is full: a store read per transaction.
    /// </summary>
    private async Task<int> ForgetClosedElsewhereAsync(string requester, CancellationToken cancellationToken)
    {
        int forgotten = 0;
        foreach (string id in _transactions.IdsOf(requester))
        {
            if (await TransactionStore.GetTransactionAsync(CmpTransactionRecord.StoreId(id), cancellationToken) is not { Closed: false } && _transactions.TryClose(id))
            {
                forgotten++;
            }
        }

        return forgotten;
    }

    /// <summary>Writes <paramref name="transaction"/>'s new state, if nobody changed it since it was read; false otherwise.</summary>
    private async Task<bool> SaveAsync(CmpTransaction transaction, CancellationToken cancellationToken)
    {
        if (await TransactionStore.TryUpdateTransactionAsync(CmpTransactionRecord.ToStored(transaction), cancellationToken) is not { } saved)
        {
            return false;
        }

        transaction.Version = saved.Version;
        _transactions.Refresh(transaction);
        return true;
    }

    /// <summary>
    /// Closes <paramref name="transaction"/> if nobody changed it since it was read; false when another message (on any node) or the
    /// sweep got there first. The closed record keeps its transactionID from being used again for <see cref="CmpServerOptions.MessageTimeTolerance"/>.
    /// </summary>
    private async Task<bool> CloseAsync(CmpTransaction transaction, CancellationToken cancellationToken)
    {
        _transactions.TryClose(transaction.Id);
        return await TransactionStore.TryUpdateTransactionAsync(
            CmpTransactionRecord.ToStored(transaction, closed: true, forgetAt: _time.GetUtcNow() + Options.MessageTimeTolerance), cancellationToken) is not null;
    }

    /// <summary>
    /// The authorization of a pending transaction that another node opened: its opening message's request, authorized again for the
    /// requester that polls (the same one: the transaction is its), which the store answers as a repeat of the stored request.
    /// </summary>
    private async Task<EnrollmentAuthorization?> AuthorizeAgainAsync(CmpExchange exchange, CmpTransaction transaction, CancellationToken cancellationToken)
    {
        if (transaction.OpeningMessage is not { } opening || PkiMessageCodec.Decode(opening, Options.MaxMessageSize).Message is not { } message)
        {
            return null;
        }

        (EnrollmentOperation Operation, CertificationRequest? Request) converted = message.Body switch
        {
            CertReqMessagesBody { Requests: [var crm] } body => CrmfRequests.Convert(crm) is { IsSuccess: true, Request: { } request } conversion
                ? (conversion.CentralKeyGeneration ? EnrollmentOperation.ServerKeyGeneration
                    : body.BodyType == PkiBodyType.Kur ? EnrollmentOperation.Reenroll : EnrollmentOperation.Enroll, request)
                : (EnrollmentOperation.Enroll, null),
            P10crBody p10 => CertificationRequest.DecodePkcs10(p10.CertificationRequest, out CertificationRequest? request, out _) == CertificationRequestDecodeStatus.Decoded
                ? (EnrollmentOperation.Enroll, request)
                : (EnrollmentOperation.Enroll, null),
            _ => (EnrollmentOperation.Enroll, null),
        };
        if (converted.Request is null)
        {
            return null;
        }

        return await _enrollment.AuthorizeAsync(new EnrollmentRequest
        {
            Requester = exchange.Requester!,
            Operation = converted.Operation,
            OperationName = Name(message.Body.BodyType),
            ProfileName = transaction.ProfileLabel,
            Request = converted.Request,
        }, cancellationToken);
    }
}
