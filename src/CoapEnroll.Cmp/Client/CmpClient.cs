using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Pkix;

namespace CoapEnroll.Cmp;

/// <summary>
/// A CMP client (RFC 9810, Lightweight CMP Profile RFC 9483) over an <see cref="ICmpTransport"/>: enrollment (ir, cr, kur, p10cr)
/// with polling and certConf/pkiConf, revocation (rr) and general messages (genm). Every answer is checked: same transactionID,
/// recipNonce equal to the request's senderNonce, protection verified (the same shared secret, or a signature by a certificate that
/// chains to <see cref="CmpClientOptions.TrustAnchors"/>), the expected body type. A refusal is a <see cref="CmpException"/>.
/// </summary>
public sealed class CmpClient
{
    private readonly ICmpTransport _transport;
    private readonly TimeProvider _time;

    /// <summary>A client sending over <paramref name="transport"/>.</summary>
    /// <exception cref="ArgumentException">The options name neither MAC (reference and secret) nor signature (certificate with key) protection, or both.</exception>
    public CmpClient(ICmpTransport transport, CmpClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        bool mac = options.SharedSecret is not null;
        bool signature = options.Certificate is not null;
        if (mac == signature)
        {
            throw new ArgumentException("give either a shared secret (MAC) or a certificate with its key (signature)", nameof(options));
        }

        if (mac && options.Reference is null)
        {
            throw new ArgumentException("MAC protection needs the reference (senderKID)", nameof(options));
        }

        if (options.DeferConfirmation && options.ImplicitConfirm)
        {
            throw new ArgumentException("a deferred certConf and implicit confirmation exclude each other", nameof(options));
        }

        if (signature && !options.Certificate!.HasPrivateKey)
        {
            throw new ArgumentException("the protection certificate has no private key", nameof(options));
        }

        if (!BusyJitter.IsValid(options.BusyJitter))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BusyJitter, "BusyJitter must be between 0 and 1");
        }

        _transport = transport;
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The protection and checking options.</summary>
    public CmpClientOptions Options { get; }

    /// <summary>
    /// ir, cr or kur (<paramref name="type"/>) for <paramref name="key"/>'s public key: polls while the server says waiting, then
    /// confirms with certConf (unless implicit confirmation was asked for and granted) and returns the issued certificate.
    /// </summary>
    public Task<CmpEnrollmentResult> EnrollAsync(PkiBodyType type, AsymmetricAlgorithm key, X500DistinguishedName? subject,
        IEnumerable<X509Extension>? extensions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var transaction = NewTransaction(subject);
        // RFC 9483 §4.1.3: a kur names the certificate it updates, the one that protects it.
        PkiMessage request = CmpRequests.CertificateRequest(type, Header(transaction, Options.ImplicitConfirm), subject, key, extensions,
            type == PkiBodyType.Kur ? Options.Certificate : null);
        return EnrollAsync(transaction, request, key.ExportSubjectPublicKeyInfo(), cancellationToken);
    }

    /// <summary>
    /// ir, cr or kur asking the server to generate the key (RFC 9483 §4.1.6). The key comes back enveloped for this client (to the
    /// shared secret, or to the protection certificate's key), signed by the key generator, whose certificate must chain to
    /// <see cref="CmpClientOptions.TrustAnchors"/>; it is in <see cref="CmpEnrollmentResult.PrivateKey"/>. A key that cannot be
    /// opened or checked is rejected with certConf and is a <see cref="CmpException"/>.
    /// </summary>
    public Task<CmpEnrollmentResult> EnrollWithCentralKeyAsync(PkiBodyType type, X500DistinguishedName? subject, IEnumerable<X509Extension>? extensions,
        CancellationToken cancellationToken)
    {
        if (Options.TrustAnchors.Count == 0)
        {
            throw new InvalidOperationException("central key generation needs trust anchors to check the key generator's signature");
        }

        var transaction = NewTransaction(subject);
        PkiMessage request = CmpRequests.CentralKeyGenerationRequest(type, Header(transaction, Options.ImplicitConfirm), subject, extensions,
            type == PkiBodyType.Kur ? Options.Certificate : null);
        return EnrollAsync(transaction, request, null, cancellationToken);
    }

    /// <summary>p10cr with a PKCS#10 request (DER); otherwise as <see cref="EnrollAsync(PkiBodyType, AsymmetricAlgorithm, X500DistinguishedName?, IEnumerable{X509Extension}?, CancellationToken)"/>.</summary>
    public Task<CmpEnrollmentResult> Pkcs10Async(byte[] certificationRequest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(certificationRequest);
        var csr = CertificateRequest.LoadSigningRequest(certificationRequest, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        var transaction = NewTransaction(csr.SubjectName);
        PkiMessage request = CmpRequests.Pkcs10(Header(transaction, Options.ImplicitConfirm), certificationRequest);
        return EnrollAsync(transaction, request, csr.PublicKey.ExportSubjectPublicKeyInfo(), cancellationToken);
    }

    /// <summary>
    /// The deferred certConf (RFC 9483 §4.1.1) of <paramref name="pending"/>: accepts the certificate, or rejects it with
    /// <paramref name="rejection"/> (the server then revokes it); returns when the server answered pkiConf.
    /// </summary>
    public async Task ConfirmAsync(CmpPendingConfirmation pending, string? rejection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pending);
        Transaction fresh = NewTransaction(pending.Sender);
        var transaction = new Transaction(pending.TransactionId.ToArray(), Options.Certificate?.SubjectName ?? pending.Sender, fresh.SenderKid, fresh.Started)
        {
            LastServerNonce = pending.RecipNonce,
        };
        PkiMessage request = CmpRequests.CertificateConfirmation(Header(transaction), pending.Certificate, pending.CertReqId, rejection);
        await ExchangeAsync(transaction, request, PkiBodyType.PkiConf, cancellationToken);
    }

    /// <summary>
    /// rr for <paramref name="certificate"/> with a CRLReason (RFC 5280 §5.3.1); returns when the server accepted it, or when it
    /// answered that the certificate is revoked already (<see cref="CmpRevocationStatus.AlreadyRevoked"/>), so that repeating an rr
    /// whose answer was lost succeeds. Only that answer counts, in the rp: an error message with certRevoked says that the
    /// certificate protecting the request is no longer usable (RFC 9483 §3.5), which a server may say of a certificate it did not
    /// revoke (this one says it of a superseded one too), so that is a <see cref="CmpException"/> like every other refusal.
    /// </summary>
    public async Task<CmpRevocationStatus> RevokeAsync(X509Certificate2 certificate, int reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var transaction = NewTransaction(certificate.SubjectName);
        byte[] serial = certificate.SerialNumberBytes.ToArray();
        PkiMessage request = CmpRequests.Revocation(Header(transaction), certificate.IssuerName, serial, reason);
        PkiMessage answer = await ExchangeAsync(transaction, request, PkiBodyType.Rp, cancellationToken);
        var rp = (RevRepBody)answer.Body;
        if (rp.Statuses.Count == 0)
        {
            throw new CmpException("the rp carries no status");
        }

        PkiStatusInfo status = rp.Statuses[0];
        if (status.Status is (int)PkiStatus.Accepted or (int)PkiStatus.GrantedWithMods or (int)PkiStatus.RevocationWarning or (int)PkiStatus.RevocationNotification)
        {
            return CmpRevocationStatus.Revoked;
        }

        // ExchangeAsync verified the rp's protection: the server that says so is the one the trust anchors name.
        if (status.Status == (int)PkiStatus.Rejection && ((PkiFailureInfo)(status.FailInfo ?? 0)).HasFlag(PkiFailureInfo.CertRevoked))
        {
            return CmpRevocationStatus.AlreadyRevoked;
        }

        throw Refusal(status, authenticated: true);
    }

    /// <summary>genm asking for <paramref name="infoTypes"/> (OIDs, see <see cref="CmpInfoTypes"/>); returns the genp's items.</summary>
    public Task<IReadOnlyList<InfoTypeAndValue>> GeneralAsync(IEnumerable<string> infoTypes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(infoTypes);
        return GeneralAsync(infoTypes.Select(t => new InfoTypeAndValue { InfoType = t }), cancellationToken);
    }

    /// <summary>A genm with <paramref name="items"/>, values included (e.g. id-it-rootCaCert with the client's root, RFC 9483 §4.3.2); the genp's items.</summary>
    public async Task<IReadOnlyList<InfoTypeAndValue>> GeneralAsync(IEnumerable<InfoTypeAndValue> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var transaction = NewTransaction(null);
        PkiMessage request = new() { Header = Header(transaction), Body = new GenMsgBody(PkiBodyType.Genm) { Items = [.. items] } };
        PkiMessage answer = await ExchangeAsync(transaction, request, PkiBodyType.Genp, cancellationToken);
        return ((GenMsgBody)answer.Body).Items;
    }

    /// <summary>The enrollment exchange; a null <paramref name="publicKey"/> means central key generation (the key comes in the answer).</summary>
    private async Task<CmpEnrollmentResult> EnrollAsync(Transaction transaction, PkiMessage request, byte[]? publicKey, CancellationToken cancellationToken)
    {
        PkiBodyType expected = request.Body.BodyType switch
        {
            PkiBodyType.Ir => PkiBodyType.Ip,
            PkiBodyType.Kur => PkiBodyType.Kup,
            _ => PkiBodyType.Cp,
        };
        PkiMessage answer = await ExchangeAsync(transaction, request, expected, cancellationToken);
        long started = transaction.Started;
        bool polled = false;
        while (true)
        {
            if (answer.Body is PollRepBody pollRep)
            {
                PollRepEntry entry = pollRep.Entries.Count > 0 ? pollRep.Entries[0] : throw new CmpException("the pollRep carries no entry");
                await WaitAsync(TimeSpan.FromSeconds(Math.Clamp(entry.CheckAfter, (long)MinimumWait.TotalSeconds, (long)MaximumWait.TotalSeconds)),
                    string.Join("; ", entry.Reason ?? []), started, cancellationToken);
                polled = true;
                answer = await ExchangeAsync(transaction, CmpRequests.Poll(Header(transaction), entry.CertReqId), expected, cancellationToken, allowPollRep: true);
                continue;
            }

            var rep = (CertRepMessageBody)answer.Body;
            CertResponse response = rep.Responses.Count > 0 ? rep.Responses[0] : throw new CmpException($"the {Name(expected)} carries no certificate response");
            if (response.Status.Status == (int)PkiStatus.Waiting)
            {
                // RFC 9483 §4.4: the first answer says waiting; poll at once, the pollRep says how long to wait. A server that answers
                // a pollReq with waiting again instead of a pollRep gets the next one after a second, within the same budget.
                if (polled)
                {
                    await WaitAsync(MinimumWait, string.Join("; ", response.Status.StatusString ?? []), started, cancellationToken);
                }

                polled = true;
                answer = await ExchangeAsync(transaction, CmpRequests.Poll(Header(transaction), response.CertReqId), expected, cancellationToken, allowPollRep: true);
                continue;
            }

            if (response.Status.Status is not ((int)PkiStatus.Accepted or (int)PkiStatus.GrantedWithMods))
            {
                throw Refusal(response.Status, authenticated: true);
            }

            if (response.CertifiedKeyPair?.Certificate is not { } der)
            {
                throw new CmpException($"the {Name(expected)} accepts the request but carries no (plain) certificate");
            }

            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadCertificate(der.Span);
            }
            catch (CryptographicException e)
            {
                throw new CmpException($"the issued certificate does not decode: {e.Message}", e);
            }

            AsymmetricAlgorithm? centralKey = null;
            if (publicKey is null)
            {
                try
                {
                    centralKey = CmpCentralKey.Open(response.CertifiedKeyPair.PrivateKey
                        ?? throw new CmpException($"the {Name(expected)} to central key generation carries no privateKey"), Options);
                }
                catch (CmpException e)
                {
                    await ExchangeAsync(transaction, CmpRequests.CertificateConfirmation(Header(transaction), certificate, response.CertReqId, e.Message),
                        PkiBodyType.PkiConf, cancellationToken, ownBudget: true);
                    throw new CmpException(e.Message + "; rejected the certificate with certConf", e);
                }

                publicKey = centralKey.ExportSubjectPublicKeyInfo();
            }

            if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey))
            {
                // RFC 9483 §4.1.1: a certificate for another key is rejected in certConf.
                await ExchangeAsync(transaction, CmpRequests.CertificateConfirmation(Header(transaction), certificate, response.CertReqId, "the certificate is not for the requested key"),
                    PkiBodyType.PkiConf, cancellationToken, ownBudget: true);
                throw new CmpException("the issued certificate is not for the requested key; rejected it with certConf");
            }

            bool implicitConfirm = Options.ImplicitConfirm && answer.Header.ImplicitConfirm;
            CmpPendingConfirmation? pending = null;
            if (Options.DeferConfirmation)
            {
                pending = new CmpPendingConfirmation
                {
                    TransactionId = transaction.Id,
                    RecipNonce = transaction.LastServerNonce ?? throw new CmpException($"the {Name(expected)} carries no senderNonce to confirm against"),
                    CertReqId = response.CertReqId,
                    Sender = transaction.Sender,
                    Certificate = certificate,
                    ConfirmWaitTime = answer.Header.ConfirmWaitTime,
                };
            }
            else if (!implicitConfirm)
            {
                await ExchangeAsync(transaction, CmpRequests.CertificateConfirmation(Header(transaction), certificate, response.CertReqId), PkiBodyType.PkiConf, cancellationToken, ownBudget: true);
            }

            var extra = Certificates(answer.ExtraCerts);
            return new CmpEnrollmentResult
            {
                Certificate = certificate,
                Chain = [.. extra.Where(c => !c.RawData.AsSpan().SequenceEqual(certificate.RawData) && CertificateUsage.IsCertificateAuthority(c))],
                CaPubs = Certificates(rep.CaPubs),
                ImplicitlyConfirmed = implicitConfirm,
                PendingConfirmation = pending,
                PrivateKey = centralKey,
                Polled = polled,
            };
        }
    }

    /// <summary>The shortest wait before polling or sending again, whatever the server said (0 would make a tight loop).</summary>
    private static readonly TimeSpan MinimumWait = TimeSpan.FromSeconds(1);

    /// <summary>The longest single wait (a server's checkAfter or Max-Age may say decades; a timer holds at most about 49 days).</summary>
    private static readonly TimeSpan MaximumWait = TimeSpan.FromDays(30);

    /// <summary>A wait in whole seconds, rounded up as the CLI's progress line shows it.</summary>
    private static string Seconds(TimeSpan time) => Math.Ceiling(time.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>The budget as configured (0.5, 300).</summary>
    private static string Budget(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Waits before the next poll, or throws <see cref="CmpException"/> when that would pass the budget begun at <paramref name="started"/>.</summary>
    private Task WaitAsync(TimeSpan delay, string reason, long started, CancellationToken cancellationToken) =>
        PauseAsync(new CmpWaiting(delay, reason), started, () => new CmpException(
            $"still waiting after {Budget(Options.MaxPollWait)} s (server: {(reason.Length > 0 ? reason : "no reason given")}; the next poll would be in {Seconds(delay)} s)")
            {
                GaveUpWaiting = true,
            },
            cancellationToken);

    /// <summary>
    /// Every wait of the client, polls and busy resends alike: reports it and waits, unless it would pass
    /// <see cref="CmpClientOptions.MaxPollWait"/> counted from <paramref name="started"/>; then throws what <paramref name="overrun"/> makes.
    /// A busy resend's wait is lengthened by up to <paramref name="jitter"/> of itself, never past the budget (one reading of the
    /// clock for both, so that a wait cut at the budget is still taken).
    /// </summary>
    private async Task PauseAsync(CmpWaiting waiting, long started, Func<Exception> overrun, CancellationToken cancellationToken, double jitter = 0)
    {
        TimeSpan left = Options.MaxPollWait - _time.GetElapsedTime(started);
        if (waiting.CheckAfter > left)
        {
            throw overrun();
        }

        waiting = jitter > 0 ? waiting with { CheckAfter = BusyJitter.Apply(waiting.CheckAfter, jitter, left) } : waiting;
        Options.Waiting?.Report(waiting);
        await Task.Delay(waiting.CheckAfter, _time, cancellationToken);
    }

    /// <summary>
    /// Protects and sends <paramref name="request"/>. While the transport says the server refused it without acting on it and asked
    /// to be asked again later (CoAP 5.03/4.29 with Max-Age, HTTP 503/429 with Retry-After; at least <see cref="MinimumWait"/>), it
    /// waits and sends the same request again (same transactionID and senderNonce, messageTime renewed so that a long wait does not
    /// make it stale), within the operation's <see cref="CmpClientOptions.MaxPollWait"/> (or one of its own, <paramref name="ownBudget"/>).
    /// Returns the answer and whether it was a resend.
    /// </summary>
    private async Task<(byte[] Answer, bool Resent)> SendAsync(Transaction transaction, PkiMessage request, bool ownBudget, CancellationToken cancellationToken)
    {
        long started = ownBudget ? _time.GetTimestamp() : transaction.Started;
        bool endsTransaction = CmpTransactionEnd.IsLastRequest(request);
        PkiMessage toSend = request;
        bool resent = false;
        while (true)
        {
            try
            {
                return (await _transport.SendAsync(PkiMessageCodec.Encode(Protect(toSend)), endsTransaction, cancellationToken), resent);
            }
            catch (CmpTransportException ex) when (ex.RetryAfter is { } retryAfter)
            {
                TimeSpan delay = retryAfter < MinimumWait ? MinimumWait : retryAfter > MaximumWait ? MaximumWait : retryAfter;
                string reason = ex.Diagnostic is { Length: > 0 } diagnostic ? $"{ex.Status}: {diagnostic}" : ex.Status ?? string.Empty;
                await PauseAsync(new CmpWaiting(delay, reason, Resend: true), started, () => new CmpTransportException(
                    $"{ex.Message}; gave up: waiting {Seconds(delay)} s more would pass the {Budget(Options.MaxPollWait)} s this client waits in all",
                    ex.Status!, ex.Diagnostic, ex.IsServerError, retryAfter), cancellationToken, Options.BusyJitter);
                toSend = request.Header.MessageTime is null ? request : new PkiMessage
                {
                    Header = request.Header.WithMessageTime(CmpDer.WholeSeconds(_time.GetUtcNow())),
                    Body = request.Body,
                    ExtraCerts = request.ExtraCerts,
                };
                resent = true;
            }
        }
    }

    private PkiMessage Protect(PkiMessage request) => Options.SharedSecret is { } secret
        ? CmpProtection.ProtectWithMac(request, secret, Options.MacParameters)
        : CmpProtection.ProtectWithSignature(request, Options.Certificate!, [.. Options.ExtraCertificates]);

    /// <summary>
    /// Protects, sends, decodes and checks one request/answer pair; an error body or an unexpected body type throws. With
    /// <paramref name="ownBudget"/> (the certConf of an issued certificate) busy answers are waited out within a
    /// <see cref="CmpClientOptions.MaxPollWait"/> of its own: a long poll before it must not make the client give up a certificate
    /// the server would then revoke.
    /// </summary>
    private async Task<PkiMessage> ExchangeAsync(Transaction transaction, PkiMessage request, PkiBodyType expected, CancellationToken cancellationToken,
        bool allowPollRep = false, bool ownBudget = false)
    {
        (byte[] der, bool resent) = await SendAsync(transaction, request, ownBudget, cancellationToken);
        CmpDecodeResult decoded = PkiMessageCodec.Decode(der);
        if (!decoded.IsSuccess)
        {
            throw new CmpException($"the answer is not a PKIMessage: {decoded.Reason}");
        }

        PkiMessage answer = decoded.Message;
        string? protectionProblem = CheckProtection(answer);
        if (answer.Body is ErrorBody error)
        {
            // An error is reported even when its protection does not verify (a server that cannot check our MAC cannot MAC its answer).
            CmpException refusal = Refusal(error.StatusInfo, protectionProblem is null, error.ErrorDetails);
            if (resent && ((PkiFailureInfo)(error.StatusInfo.FailInfo ?? 0) & (PkiFailureInfo.BadSenderNonce | PkiFailureInfo.TransactionIdInUse)) != 0)
            {
                // A proxy's busy answer does not always prove that its upstream never saw the first copy.
                throw new CmpException(refusal.Message + " (this request was sent again after a busy answer: an earlier copy may have reached the server)",
                    refusal.FailureInfo, refusal.StatusStrings, isRefusal: true, isAuthenticated: refusal.IsAuthenticated);
            }

            throw refusal;
        }

        if (protectionProblem is not null)
        {
            throw new CmpException($"the {Name(answer.Body.BodyType)} answer fails its protection check: {protectionProblem}");
        }

        if (answer.Header.TransactionId is not { } id || !id.Span.SequenceEqual(transaction.Id))
        {
            throw new CmpException($"the answer's transactionID {Hex(answer.Header.TransactionId)} is not the request's {Convert.ToHexString(transaction.Id)}");
        }

        if (answer.Header.RecipNonce is not { } recipNonce || !recipNonce.Span.SequenceEqual(request.Header.SenderNonce!.Value.Span))
        {
            throw new CmpException($"the answer's recipNonce {Hex(answer.Header.RecipNonce)} is not the request's senderNonce {Hex(request.Header.SenderNonce)}");
        }

        if (answer.Body.BodyType != expected && !(allowPollRep && answer.Body.BodyType == PkiBodyType.PollRep))
        {
            throw new CmpException($"the server answered {Name(request.Body.BodyType)} with {Name(answer.Body.BodyType)}, not {Name(expected)}");
        }

        transaction.LastServerNonce = answer.Header.SenderNonce;
        return answer;
    }

    /// <summary>Null when the answer's protection verifies, else why not.</summary>
    private string? CheckProtection(PkiMessage answer)
    {
        switch (CmpProtection.GetKind(answer))
        {
            case CmpProtectionKind.None:
                return "the answer is not protected";
            case CmpProtectionKind.PasswordBasedMac or CmpProtectionKind.Pbmac1:
                if (Options.SharedSecret is not { } secret)
                {
                    return "the answer is MAC-protected, but this client has no shared secret";
                }

                CmpProtectionResult mac = CmpProtection.VerifyMac(answer, secret, Options.AnswerMacPolicy);
                return mac.IsValid ? null : "MAC: " + mac;
            case CmpProtectionKind.Signature:
                return CheckSignature(answer);
            default:
                return $"unsupported protection algorithm {answer.Header.ProtectionAlg?.Algorithm}";
        }
    }

    private string? CheckSignature(PkiMessage answer)
    {
        IReadOnlyList<X509Certificate2> extra;
        try
        {
            extra = Certificates(answer.ExtraCerts);
        }
        catch (CmpException e)
        {
            return e.Message;
        }

        if (extra.Count == 0)
        {
            return "the answer is signed but carries no protection certificate in extraCerts";
        }

        X509Certificate2 signer = extra.FirstOrDefault(c => answer.Header.SenderKid is { } kid && SubjectKeyId(c) is { } ski && kid.Span.SequenceEqual(ski)) ?? extra[0];
        CmpProtectionResult signature = CmpProtection.VerifySignature(answer, signer);
        if (!signature.IsValid)
        {
            return "signature: " + signature;
        }

        if (Options.TrustAnchors.Count == 0)
        {
            return $"the answer is signed by '{signer.Subject}', and no trust anchors were given to check it";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Options.TrustAnchors);
        chain.ChainPolicy.ExtraStore.AddRange(extra.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(signer))
        {
            string why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            return $"the protection certificate '{signer.Subject}' does not chain to the trust anchors: {why}";
        }

        return null;
    }

    private static CmpException Refusal(PkiStatusInfo status, bool authenticated, IReadOnlyList<string>? details = null)
    {
        var info = (PkiFailureInfo)(status.FailInfo ?? 0);
        string[] texts = [.. status.StatusString ?? [], .. details ?? []];
        string statusName = Enum.IsDefined((PkiStatus)status.Status) ? ((PkiStatus)status.Status).ToString().ToLowerInvariant() : status.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // "refused: badMessageCheck: why" — the status is named only when it is not the usual rejection.
        var message = new StringBuilder(status.Status == (int)PkiStatus.Rejection ? "refused" : $"refused ({statusName})");
        string failures = CmpException.Describe(info);
        if (failures.Length > 0)
        {
            message.Append(": ").Append(failures);
        }

        if (texts.Length > 0)
        {
            message.Append(": ").Append(string.Join("; ", texts));
        }

        if (!authenticated)
        {
            message.Append(" (the refusal's protection does not verify)");
        }

        return new CmpException(message.ToString(), info, texts, isRefusal: true, isAuthenticated: authenticated);
    }

    private Transaction NewTransaction(X500DistinguishedName? subject)
    {
        X500DistinguishedName sender = Options.Certificate?.SubjectName ?? subject ?? new X500DistinguishedName([0x30, 0x00]);
        byte[]? kid = Options.Certificate is { } cert ? SubjectKeyId(cert) : Encoding.UTF8.GetBytes(Options.Reference!);
        return new Transaction(CmpRequests.NewId(), sender, kid, _time.GetTimestamp());
    }

    private PkiHeader Header(Transaction transaction, bool implicitConfirm = false) =>
        CmpRequests.Header(transaction.Sender, Options.Recipient, transaction.SenderKid, transaction.Id, transaction.LastServerNonce, implicitConfirm,
            _time.GetUtcNow());

    private static byte[]? SubjectKeyId(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes.ToArray();

    private static List<X509Certificate2> Certificates(IReadOnlyList<ReadOnlyMemory<byte>>? ders)
    {
        var list = new List<X509Certificate2>();
        foreach (ReadOnlyMemory<byte> der in ders ?? [])
        {
            try
            {
                list.Add(X509CertificateLoader.LoadCertificate(der.Span));
            }
            catch (CryptographicException e)
            {
                throw new CmpException($"a certificate in the answer does not decode: {e.Message}", e);
            }
        }

        return list;
    }

    private static string Hex(ReadOnlyMemory<byte>? value) => value is { } v ? Convert.ToHexString(v.Span) : "(absent)";

    private static string Name(PkiBodyType type) => type switch
    {
        PkiBodyType.PkiConf => "pkiConf",
        PkiBodyType.CertConf => "certConf",
        PkiBodyType.PollReq => "pollReq",
        PkiBodyType.PollRep => "pollRep",
        PkiBodyType.P10cr => "p10cr",
        _ => type.ToString().ToLowerInvariant(),
    };

    private sealed class Transaction(byte[] id, X500DistinguishedName sender, byte[]? senderKid, long started)
    {
        public byte[] Id { get; } = id;

        /// <summary>
    /// When the operation began: its waits (pollRep, waiting, busy answers) share one <see cref="CmpClientOptions.MaxPollWait"/>, but
    /// for an issued certificate's certConf.
    /// </summary>
        public long Started { get; } = started;

        public X500DistinguishedName Sender { get; } = sender;

        public byte[]? SenderKid { get; } = senderKid;

        public ReadOnlyMemory<byte>? LastServerNonce { get; set; }
    }
}
