using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Cmp;

/// <summary>
/// The CMP server of the Lightweight CMP Profile (RFC 9483), independent of the transport: a DER PKIMessage in, a DER PKIMessage
/// out. It checks the message (version, transaction ID and nonces, replays, time) and its protection (MAC with a configured
/// shared secret, or a signature whose certificate the enrollment core trusts), then maps ir/cr/kur/p10cr, certConf, pollReq, rr
/// and genm onto the <see cref="EnrollmentService"/>, which decides what is authorized and issues. Answers are protected the way
/// the request was: with the same shared secret, else signed with the server's CMP certificate.
/// </summary>
public sealed partial class CmpServer
{
    private const int NonceLength = 16;
    private const int MinIdLength = 8;
    private const int MaxIdLength = 64;

    private readonly EnrollmentService _enrollment;
    private readonly CmpProtectionKey _credential;
    private readonly CmpProtectionKey _protection;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CmpTransactionTable _transactions;
    private readonly CmpMacPolicy _macPolicy;

    /// <summary>
    /// A CMP server in front of <paramref name="enrollment"/>. <paramref name="signer"/> (with its private key, digitalSignature
    /// allowed, issued under this CA) signs answers that are not MAC-protected; <paramref name="signerChain"/> is its chain up to,
    /// not including, the root.
    /// </summary>
    public CmpServer(CmpServerOptions options, EnrollmentService enrollment, X509Certificate2 signer, IReadOnlyList<X509Certificate2> signerChain,
        ILogger<CmpServer>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(enrollment);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(signerChain);
        options.Validate();
        if (!signer.HasPrivateKey)
        {
            throw new ArgumentException("the CMP signer certificate needs its private key", nameof(signer));
        }

        Options = options;
        _enrollment = enrollment;
        _credential = CmpProtectionKey.FromCredential(signer, signerChain);
        _protection = _credential;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _transactions = new CmpTransactionTable(options.MaxOpenTransactions, options.MaxOpenTransactionsPerRequester,
            options.MaxRememberedIds, options.MaxRememberedIdsPerRequester);
        _macPolicy = new CmpMacPolicy
        {
            MinIterations = options.MinIterations,
            MaxIterations = options.MaxIterations,
            AllowHmacSha1 = options.AllowHmacSha1,
        };
    }

    /// <summary>The settings.</summary>
    public CmpServerOptions Options { get; }

    /// <summary>
    /// What signs answers that are not MAC-protected: by default the signer given to the constructor (the server credential); the
    /// host may set the issuing CA's key here (<c>Cmp:ProtectionKey=Ca</c>). Whatever it is, an answer that says the CA key is
    /// unavailable (systemUnavail) is signed with the signer given to the constructor, as a token lost cannot sign it. It signs
    /// announcements too; the signer given to the constructor signs the SignedData of centrally generated keys.
    /// </summary>
    public CmpProtectionKey ProtectionKey
    {
        get => _protection;
        init => _protection = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// Where transactions are kept (the CA's store): what a transaction is, so that a certConf, pollReq or error may reach another
    /// node than the one that opened it.
    /// </summary>
    public required ITransactionStore TransactionStore { get; init; }

    /// <summary>
    /// Open transactions (certificates waiting for certConf, requests waiting for an operator) that this node opened and, as far as
    /// it knows, are still open; what its bounds count.
    /// </summary>
    public int OpenTransactions => _transactions.OpenCount;

    /// <summary>Whether <paramref name="label"/> names a profile (<c>/.well-known/cmp/p/&lt;label&gt;</c>); transports answer 4.04/404 otherwise.</summary>
    public bool IsKnownProfile(string? label) => _enrollment.Authority.Profiles.TryGet(label, out _);

    /// <summary>
    /// Answers one request. Never throws for any input: bytes that are no PKIMessage give <see cref="CmpExchangeResult.IsMalformed"/>,
    /// every other problem an error PKIMessage with its failInfo, protected where the request's protection allows.
    /// </summary>
    public async Task<CmpExchangeResult> HandleAsync(ReadOnlyMemory<byte> der, CmpRequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (der.Length > Options.MaxMessageSize)
        {
            return CmpExchangeResult.Malformed($"the PKIMessage is larger than {Options.MaxMessageSize} bytes");
        }

        CmpDecodeResult decoded = PkiMessageCodec.Decode(der.Span, Options.MaxMessageSize);
        if (decoded.Message is not { } request)
        {
            LogMalformed(_logger, context.FrontEnd, context.Peer ?? "?", decoded.Reason ?? decoded.Status.ToString());
            return CmpExchangeResult.Malformed($"not a DER PKIMessage: {decoded.Reason ?? decoded.Status.ToString()}");
        }

        var exchange = new CmpExchange { Request = request, Context = context, Der = der };
        try
        {
            PkiMessage answer = await AnswerAsync(exchange, cancellationToken);
            return CmpExchangeResult.Answer(await EncodeAsync(exchange, answer, cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !exchange.OutcomeStored && CaUnavailableException.From(ex) is { } unavailable)
        {
            // The CA's key (a PKCS#11 token) or its store cannot be reached now. Nothing was signed or kept: the CA signs before it
            // stores, and the transaction and a one-time secret were given back (AuthorizeAndIssueAsync). A failure after the outcome
            // was stored (saving the transaction that waits for certConf) is the server's own below: the certificate exists. A CMP-level refusal, so
            // it travels as a PKIMessage in the transport's success code (RFC 9482 §2.3: 2.04; RFC 9811 §3.1: 200) with failInfo
            // systemUnavail (RFC 9810 §5.2.3, RFC 9483 §3.6.4), protected like every other answer; the client sends a new request later.
            LogUnavailable(_logger, context.FrontEnd, exchange.Who, unavailable.Message);
            // When the CA key also protects answers it cannot sign this one: the server credential (a key in a file) does, and
            // sender and senderKID name it; a client that trusts the CA's root verifies it like any other signed answer.
            exchange.Protection = _credential;
            return CmpExchangeResult.Answer(await EncodeAsync(exchange, ErrorAnswer(exchange, PkiFailureInfo.SystemUnavail,
                $"{unavailable.ClientReason}; send a new request in {unavailable.RetryAfterSeconds} seconds"), cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(_logger, ex, context.FrontEnd, exchange.Who);
            // The failure may be the protection key's own (a token that failed while signing): the server credential signs this.
            exchange.Protection = _credential;
            return CmpExchangeResult.Answer(await EncodeAsync(exchange, ErrorAnswer(exchange, PkiFailureInfo.SystemFailure, "internal error"), cancellationToken));
        }
    }

    /// <summary>
    /// Gives up transactions past their deadline: certificates never confirmed are revoked (RFC 9483 §4.1.1: an unconfirmed
    /// certificate must not stay valid), requests never polled are forgotten. Hosts call it periodically. The store hands each
    /// expired transaction to one node, whichever sweeps first, so the transactions of a node that stopped are given up too.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        const int batch = 500;
        DateTimeOffset now = _time.GetUtcNow();
        _transactions.TakeExpired(now);
        IReadOnlyList<StoredTransaction> expired;
        do
        {
            expired = await TransactionStore.TakeExpiredTransactionsAsync(CmpTransactionRecord.IdPrefix, now, batch, cancellationToken);
            foreach (StoredTransaction stored in expired)
            {
                if (stored.Closed)
                {
                    continue;
                }

                CmpTransaction transaction;
                try
                {
                    transaction = CmpTransactionRecord.FromStored(stored);
                }
                catch (System.Formats.Asn1.AsnContentException ex)
                {
                    // A row this program cannot read (written by a newer one, or damaged): its reference still names the certificate
                    // that awaited confirmation, and the others of the batch are still swept.
                    LogFailed(_logger, ex, "cmp", stored.Owner);
                    if (stored.Reference is { } unread)
                    {
                        await RevokeUnconfirmedAsync(unread, stored.Owner, "no certConf before confirmWaitTime", cancellationToken);
                    }

                    continue;
                }

                if (transaction is { State: CmpTransactionState.AwaitingConfirmation, CertificateSerial: { } serial })
                {
                    await RevokeUnconfirmedAsync(serial, transaction.Requester, "no certConf before confirmWaitTime", cancellationToken);
                }
            }
        }
        while (expired.Count == batch);
    }

    private async Task<PkiMessage> AnswerAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        PkiMessage request = exchange.Request;
        PkiHeader header = request.Header;
        if (header.Pvno is not (2 or 3))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.UnsupportedVersion, $"pvno {header.Pvno} is not supported; this server speaks CMP version 2 and 3");
        }

        // RFC 9483 §3.1: 128-bit transactionID and nonces. Shorter ones are refused, absurdly long ones too.
        if (header.TransactionId is not { Length: >= MinIdLength and <= MaxIdLength })
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadDataFormat, "the header needs a transactionID of 8 to 64 bytes", withTransaction: false);
        }

        if (header.SenderNonce is not { Length: >= MinIdLength and <= MaxIdLength })
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadSenderNonce, "the header needs a senderNonce of 8 to 64 bytes");
        }

        if (!IsRequestBody(request.Body.BodyType))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"a {Name(request.Body.BodyType)} body is not a request this server answers");
        }

        if (exchange.Context.OperationLabel is { } label && !LabelAdmits(label, request.Body))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"a {Name(request.Body.BodyType)} body does not belong at the operation path '{label}'");
        }

        if (await AuthenticateAsync(exchange, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        if (CheckRecipient(exchange) is { } wrongRecipient)
        {
            return wrongRecipient;
        }

        if (header.MessageTime is { } sent && (sent - _time.GetUtcNow()).Duration() > Options.MessageTimeTolerance)
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadTime,
                $"messageTime {sent:u} is more than {Options.MessageTimeTolerance.TotalMinutes:0} minutes from the server's time");
        }

        string requester = exchange.Requester!.Name;
        bool starts = request.Body.BodyType is PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur or PkiBodyType.P10cr or PkiBodyType.Rr or PkiBodyType.Genm;
        if (starts && (_transactions.Find(exchange.TransactionId) is not null || !_transactions.TryRemember("t:" + exchange.TransactionId, requester)))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.TransactionIdInUse, "this transactionID was used before; start a new transaction with a fresh one");
        }

        if (!_transactions.TryRemember("n:" + Convert.ToHexString(header.SenderNonce.Value.Span), requester))
        {
            return ErrorAnswer(exchange, PkiFailureInfo.BadSenderNonce, "this senderNonce was used before (a replayed message)");
        }

        LogRequest(_logger, exchange.Context.FrontEnd, Name(request.Body.BodyType), requester, exchange.TransactionId);
        return request.Body switch
        {
            CertReqMessagesBody crm => await EnrollAsync(exchange, crm, cancellationToken),
            P10crBody p10 => await EnrollPkcs10Async(exchange, p10, cancellationToken),
            CertConfBody certConf => await ConfirmAsync(exchange, certConf, cancellationToken),
            PollReqBody poll => await PollAsync(exchange, poll, cancellationToken),
            RevReqBody rr => await RevokeAsync(exchange, rr, cancellationToken),
            GenMsgBody genm => await GeneralAsync(exchange, genm, cancellationToken),
            ErrorBody error => await AbortAsync(exchange, error, cancellationToken),
            _ => ErrorAnswer(exchange, PkiFailureInfo.BadRequest, $"a {Name(request.Body.BodyType)} body is not a request this server answers"),
        };
    }

    /// <summary>
    /// Verifies the protection and lets the enrollment core authenticate the sender: a MAC with the secret of the senderKID
    /// reference, or a signature by the first certificate in extraCerts, which must be trusted (this CA's active certificate or a
    /// trusted manufacturer's). Returns the refusal, or null with <see cref="CmpExchange.Requester"/> set.
    /// </summary>
    private async Task<PkiMessage?> AuthenticateAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        PkiMessage request = exchange.Request;
        string frontEnd = exchange.Context.FrontEnd;
        PeerIdentity peer;
        X509Certificate2? signer = null;
        switch (CmpProtection.GetKind(request))
        {
            case CmpProtectionKind.None:
                return ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "the request is not protected; protect it with a MAC (shared secret) or a signature");

            case CmpProtectionKind.PasswordBasedMac or CmpProtectionKind.Pbmac1:
                if (request.Header.SenderKid is not { Length: > 0 and <= 128 } kid)
                {
                    return ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "a MAC-protected request needs its reference in senderKID");
                }

                string reference = PrintableText.Escape(kid.Span);
                if (await FindSecretAsync(Encoding.UTF8.GetString(kid.Span), cancellationToken) is not var (secret, grant, stored))
                {
                    // Unknown and wrong are told apart to the operator's log only: to the requester both are a MAC that does not verify.
                    LogUnknownReference(_logger, frontEnd, reference);
                    return ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "the MAC does not verify (unknown reference or wrong secret)");
                }

                CmpProtectionResult mac = CmpProtection.VerifyMac(request, secret, _macPolicy);
                if (!mac.IsValid)
                {
                    LogProtectionRefused(_logger, frontEnd, reference, mac.Status.ToString(), mac.Detail ?? "");
                    return mac.Status switch
                    {
                        CmpProtectionStatus.UnsupportedAlgorithm or CmpProtectionStatus.WeakParameters =>
                            ErrorAnswer(exchange, PkiFailureInfo.BadAlg, $"MAC protection refused: {mac.Detail}"),
                        _ => ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "the MAC does not verify (unknown reference or wrong secret)"),
                    };
                }

                exchange.Secret = secret;
                exchange.Reference = Encoding.UTF8.GetString(kid.Span);
                exchange.Pbmac1 = CmpProtection.GetKind(request) == CmpProtectionKind.Pbmac1;
                if (stored is not null && await StoredSecretProblemAsync(exchange, stored, cancellationToken) is { } problem)
                {
                    // The MAC verified: the holder knows the secret, so it may learn why it no longer serves.
                    LogProtectionRefused(_logger, frontEnd, reference, "StoredSecret", problem);
                    return ErrorAnswer(exchange, PkiFailureInfo.NotAuthorized, problem);
                }

                exchange.OneTimeSecret = stored is { OneTime: true, ConsumedAt: null };
                peer = PeerIdentity.SharedSecret(frontEnd, exchange.Reference, grant);
                break;

            case CmpProtectionKind.Signature:
                List<X509Certificate2>? certificates = ReadExtraCerts(request);
                if (certificates is not { Count: > 0 })
                {
                    return ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "a signed request needs its protection certificate first in extraCerts");
                }

                X509Certificate2 leaf = certificates[0];
                if (request.Header.SenderKid is { } senderKid && !senderKid.Span.SequenceEqual(SubjectKeyIdOf(leaf)))
                {
                    return ErrorAnswer(exchange, PkiFailureInfo.BadMessageCheck, "senderKID is not the subject key identifier of the first certificate in extraCerts");
                }

                CmpProtectionResult signature = CmpProtection.VerifySignature(request, leaf);
                if (!signature.IsValid)
                {
                    LogProtectionRefused(_logger, frontEnd, leaf.Subject, signature.Status.ToString(), signature.Detail ?? "");
                    return ErrorAnswer(exchange, signature.Status is CmpProtectionStatus.UnsupportedAlgorithm ? PkiFailureInfo.BadAlg : PkiFailureInfo.BadMessageCheck,
                        $"the signature does not verify with the first certificate in extraCerts: {signature.Detail}");
                }

                // The continuation of a transaction signed by the certificate that opened it: the opener, whatever the store now
                // says of that certificate (kur superseded it; the signature proves the same key).
                if (IsContinuation(request.Body.BodyType)
                    && _transactions.Find(exchange.TransactionId) is { Opener.Certificate: { } opener } open
                    && opener.RawData.AsSpan().SequenceEqual(leaf.RawData))
                {
                    exchange.Requester = open.Opener!;
                    return null;
                }

                peer = PeerIdentity.SignedMessage(frontEnd, certificates);
                signer = leaf;
                break;

            default:
                return ErrorAnswer(exchange, PkiFailureInfo.BadAlg, $"protectionAlg {request.Header.ProtectionAlg?.Algorithm} is not supported");
        }

        // A kur signed by a certificate that its own lost kur superseded may repeat that kur (the enrollment core decides). So may
        // the continuation of a kur's transaction that reaches a node that did not open it: the kur superseded its signer.
        bool reenroll = request.Body.BodyType == PkiBodyType.Kur
            || (IsContinuation(request.Body.BodyType) && (await ReadTransactionAsync(exchange, cancellationToken))?.RequestType == PkiBodyType.Kur);
        AuthenticationResult authentication = await _enrollment.AuthenticateAsync(peer, reenroll ? EnrollmentOperation.Reenroll : null, cancellationToken);
        if (authentication.Requester is not { } requester)
        {
            LogNotAuthenticated(_logger, frontEnd, authentication.Name, authentication.Detail ?? authentication.Failure.ToString());
            if (authentication.Failure != AuthenticationFailure.InactiveCertificateOfThisCa)
            {
                return ErrorAnswer(exchange, PkiFailureInfo.SignerNotTrusted, authentication.Detail ?? "the signer is not trusted");
            }

            return await RevokedSelfRevocationAsync(exchange, signer!, cancellationToken)
                ?? ErrorAnswer(exchange, PkiFailureInfo.CertRevoked, authentication.Detail!);
        }

        exchange.Requester = requester;
        return null;
    }

    private static List<X509Certificate2>? ReadExtraCerts(PkiMessage message)
    {
        if (message.ExtraCerts is not { Count: > 0 } extra)
        {
            return null;
        }

        var certificates = new List<X509Certificate2>(extra.Count);
        try
        {
            foreach (ReadOnlyMemory<byte> der in extra.Take(8))
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(der.Span));
            }
        }
        catch (CryptographicException)
        {
            return null;
        }

        return certificates;
    }

    /// <summary>The certificate's subjectKeyIdentifier, or the RFC 5280 §4.2.1.2 method (1) value when it has none.</summary>
    internal static byte[] SubjectKeyIdOf(X509Certificate2 certificate) =>
        (certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()
            ?? new X509SubjectKeyIdentifierExtension(certificate.PublicKey, X509SubjectKeyIdentifierHashAlgorithm.Sha1, false)).SubjectKeyIdentifierBytes.ToArray();

    private static bool IsRequestBody(PkiBodyType type) => type is PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur or PkiBodyType.P10cr
        or PkiBodyType.CertConf or PkiBodyType.PollReq or PkiBodyType.Rr or PkiBodyType.Genm or PkiBodyType.Error;

    /// <summary>RFC 9483 §6 (HTTP, long names) and RFC 9482 §2.1 (CoAP, short names): which bodies an operation path takes.</summary>
    private static bool LabelAdmits(string label, PkiBody body)
    {
        PkiBodyType type = body.BodyType;
        if (type is PkiBodyType.CertConf or PkiBodyType.PollReq or PkiBodyType.Error)
        {
            return true;
        }

        return label switch
        {
            "ir" or "initialization" => type == PkiBodyType.Ir,
            "cr" or "certification" => type == PkiBodyType.Cr,
            "kur" or "keyupdate" => type == PkiBodyType.Kur,
            "p10" or "pkcs10" => type == PkiBodyType.P10cr,
            "rr" or "revocation" => type == PkiBodyType.Rr,
            "crts" or "getcacerts" => HasInfoType(body, CmpInfoTypes.CaCerts),
            "rcu" or "getrootupdate" => HasInfoType(body, CmpInfoTypes.RootCaCert),
            "att" or "getcertreqtemplate" => HasInfoType(body, CmpInfoTypes.CertReqTemplate),
            "crls" or "getcrls" => HasInfoType(body, CmpInfoTypes.CrlStatusList),
            _ => false,
        };
    }

    private static bool HasInfoType(PkiBody body, string infoType) =>
        body is GenMsgBody genm && genm.Items.Count == 1 && genm.Items[0].InfoType == infoType;

    private static string Name(PkiBodyType type) => type switch
    {
        PkiBodyType.P10cr => "p10cr",
        PkiBodyType.PkiConf => "pkiConf",
        PkiBodyType.CertConf => "certConf",
        PkiBodyType.PollReq => "pollReq",
        PkiBodyType.PollRep => "pollRep",
        _ => type.ToString().ToLowerInvariant(),
    };
}
