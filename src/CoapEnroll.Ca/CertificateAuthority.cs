using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Ca;

/// <summary>
/// The CA engine: checks a certification request (PKCS#10, or any <see cref="CertificationRequest"/>) against a profile, issues an end-entity certificate with the issuing CA's key, and
/// commits it to the <see cref="ICertificateStore"/> before returning it. Independent of the transport: EST-coaps (RFC 9148) and
/// CMP (RFC 9482) layers call it. Safe for concurrent use.
/// </summary>
public sealed class CertificateAuthority
{
    /// <summary>Attempts at finding an unused serial number before giving up (a collision of 127-bit random serials is not expected at all).</summary>
    public const int MaxSerialAttempts = 5;

    /// <summary>The profile name registrar certificates are recorded under (<see cref="IssueRegistrarCertificateAsync"/>).</summary>
    public const string RegistrarProfileName = "registrar";

    /// <summary>Longest operator name or rejection reason text.</summary>
    public const int MaxOperatorTextLength = 512;

    private readonly CaHierarchy _hierarchy;
    private readonly ICertificateStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly X509Certificate2[] _chain;
    private readonly X509Certificate2[] _caCertificates;
    private readonly SemaphoreSlim _crlLock = new(1, 1);
    // Counting the pending requests and adding one is a unit: concurrent requests cannot all see the last free place. (Other
    // processes on the store, `coapenroll requests`, only ever decide pending requests, which lowers the counts.)
    private readonly SemaphoreSlim _pendingGate = new(1, 1);
    private readonly PendingRequestCount _pendingCount;
    private readonly int _maxPendingRequests = DefaultMaxPendingRequests;
    private readonly int _maxPendingRequestsPerIdentity = DefaultMaxPendingRequestsPerIdentity;
    private long _pendingLimitReportedAt;
    private long _pendingLimitHeldBack;
    private readonly TimeSpan _crlValidity = DefaultCrlValidity;
    private CrlSnapshot? _crl;
    private IReadOnlyList<RevokedCertificate>? _crlEntries;
    private RootCaKeyUpdate? _rootCaKeyUpdate;

    /// <param name="hierarchy">The CA certificates and the issuing CA's key.</param>
    /// <param name="store">Where requests and certificates are recorded; its calls are timed (<see cref="InstrumentedCertificateStore"/>).</param>
    /// <param name="profiles">What certificates look like and who may get which name.</param>
    /// <param name="reservedNames">The names never issued: the CA's, and those of the host's own certificates, which only the host knows.</param>
    /// <param name="logger">The CA's log.</param>
    /// <param name="timeProvider">The clock.</param>
    public CertificateAuthority(CaHierarchy hierarchy, ICertificateStore store, CertificateProfileCatalog profiles, ReservedNames reservedNames,
        ILogger<CertificateAuthority>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(reservedNames);
        _hierarchy = hierarchy;
        _store = InstrumentedCertificateStore.Wrap(store);
        Profiles = profiles;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _pendingCount = new PendingRequestCount(_store, _time, _logger);
        CaMetrics.Register(_pendingCount);
        _chain = [X509CertificateLoader.LoadCertificate(hierarchy.IssuingCa.RawData), .. hierarchy.Intermediates];
        _caCertificates = [.. hierarchy.CaCertificates, .. hierarchy.TrustedManufacturerCas];
        ReservedNames = reservedNames;
        _rootCaKeyUpdate = hierarchy.RootCaKeyUpdate;
    }

    /// <summary>Default <see cref="MaxPendingRequests"/>.</summary>
    public const int DefaultMaxPendingRequests = 10_000;

    /// <summary>Default <see cref="MaxPendingRequestsPerIdentity"/>.</summary>
    public const int DefaultMaxPendingRequestsPerIdentity = 8;

    /// <summary>How often at most a refusal at a pending bound is logged (the others are counted into the next line).</summary>
    private static readonly TimeSpan PendingLimitReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Requests waiting for approval from all requesters together (<see cref="CaOptions.MaxPendingRequests"/>); one more is
    /// refused with <see cref="RejectionReason.TooManyPendingRequests"/> and not stored.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxPendingRequests
    {
        get => _maxPendingRequests;
        init => _maxPendingRequests = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be at least 1");
    }

    /// <summary>
    /// Requests waiting for approval of one identity (the authenticated requester, <see cref="IssuanceRequest.Identity"/>), so that
    /// one device cannot fill the operator's queue; <see cref="CaOptions.MaxPendingRequestsPerIdentity"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxPendingRequestsPerIdentity
    {
        get => _maxPendingRequestsPerIdentity;
        init => _maxPendingRequestsPerIdentity = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be at least 1");
    }

    /// <summary>Default <see cref="CrlValidity"/>: 7 days.</summary>
    public static readonly TimeSpan DefaultCrlValidity = TimeSpan.FromDays(7);

    /// <summary>Shortest <see cref="CrlValidity"/>.</summary>
    public static readonly TimeSpan MinCrlValidity = TimeSpan.FromMinutes(1);

    /// <summary>Longest <see cref="CrlValidity"/>.</summary>
    public static readonly TimeSpan MaxCrlValidity = TimeSpan.FromDays(366);

    /// <summary>How long a CRL of <see cref="GetCrlAsync"/> is valid (nextUpdate - thisUpdate); <see cref="CaOptions.CrlValidity"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not between <see cref="MinCrlValidity"/> and <see cref="MaxCrlValidity"/>.</exception>
    public TimeSpan CrlValidity
    {
        get => _crlValidity;
        init => _crlValidity = value >= MinCrlValidity && value <= MaxCrlValidity
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"must be between {MinCrlValidity} and {MaxCrlValidity}");
    }

    /// <summary>The names this CA never issues.</summary>
    public ReservedNames ReservedNames { get; }

    /// <summary>The profiles.</summary>
    public CertificateProfileCatalog Profiles { get; }

    /// <summary>The store given, wrapped in an <see cref="InstrumentedCertificateStore"/> that times its calls.</summary>
    public ICertificateStore Store => _store;

    /// <summary>
    /// How many requests wait for approval, read from the store now: a cheap query, which also refreshes the gauge
    /// <c>ca.requests.awaiting_approval</c> (a server's readiness check uses it).
    /// </summary>
    public Task<int> CountPendingRequestsAsync(CancellationToken cancellationToken) => _pendingCount.ReadAsync(cancellationToken);

    /// <summary>The CA certificates for EST /crts: issuing CA, intermediates, trust anchor (RFC 7030 section 4.1.3).</summary>
    public IReadOnlyList<X509Certificate2> CaCertificates => _hierarchy.CaCertificates;

    /// <summary>The root CA certificate this CA's certificates chain to.</summary>
    public X509Certificate2 TrustAnchor => _hierarchy.TrustAnchor;

    /// <summary>The pending root CA key update (RFC 9810 §4.4), null when there is none: the hierarchy's, or one adopted since.</summary>
    public RootCaKeyUpdate? RootCaKeyUpdate => _rootCaKeyUpdate;

    /// <summary>
    /// Adopts a root CA key update made while this CA runs (<c>coapenroll ca rollover</c> is another process), unless it has one
    /// already. Returns the update in force.
    /// </summary>
    /// <exception cref="ArgumentException">The update is not of this CA's trust anchor.</exception>
    public RootCaKeyUpdate AdoptRootCaKeyUpdate(RootCaKeyUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (!update.OldWithOld.RawDataMemory.Span.SequenceEqual(_hierarchy.TrustAnchor.RawDataMemory.Span))
        {
            throw new ArgumentException("the update replaces another root than this CA's trust anchor", nameof(update));
        }

        return Interlocked.CompareExchange(ref _rootCaKeyUpdate, update, null) ?? update;
    }

    /// <summary>
    /// The name rules the CA applies to every request, whoever asks and under whatever profile: no reserved name
    /// (<see cref="ReservedNames"/>), and no subject that an active, unexpired certificate of another identity holds. Null when the
    /// names may be issued to <paramref name="identity"/>; otherwise the reason and a text naming the rule. <see cref="IssueAsync"/>
    /// and <see cref="ApproveAsync"/> apply it themselves, and the store enforces the second rule when it writes the certificate.
    /// </summary>
    public async Task<(RejectionReason Reason, string Detail)?> CheckNamesAsync(X500DistinguishedName subject, IReadOnlyList<GeneralName> subjectAltNames, string identity,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(subjectAltNames);
        ArgumentException.ThrowIfNullOrEmpty(identity);
        if (ReservedNames.Find(subject, subjectAltNames) is { } reserved)
        {
            return (RejectionReason.ReservedName, reserved);
        }

        return await _store.FindNameHolderAsync(subject, identity, cancellationToken) is null ? null : (RejectionReason.NameHeldByAnotherRequester, HeldText(subject));
    }

    /// <summary>
    /// Handles a certification request. Repeats with a known request key return the stored outcome. A profile with
    /// <see cref="CertificateProfile.RequiresApproval"/> stores the request as pending. Otherwise the certificate is issued and
    /// committed to the store before this returns.
    /// </summary>
    public async Task<IssuanceResult> IssueAsync(IssuanceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        long started = Stopwatch.GetTimestamp();
        string requester = request.Requester ?? "";
        string protocol = request.Protocol ?? "";

        string? parameterProblem = CheckParameters(request);
        if (parameterProblem is not null)
        {
            return await RefuseAsync(request, RejectionReason.InvalidParameter, parameterProblem, cancellationToken);
        }

        byte[]? overrideKey = request.OverridePublicKey?.ExportSubjectPublicKeyInfo();
        if (request.RequestKey is not null)
        {
            StoredRequest? earlier = await _store.GetRequestByKeyAsync(request.RequestKey, cancellationToken);
            if (earlier is not null)
            {
                return await RepeatAsync(earlier, request, overrideKey, cancellationToken);
            }
        }

        if (!Profiles.TryGet(request.ProfileName, out CertificateProfile profile))
        {
            return await RefuseAsync(request, RejectionReason.UnknownProfile, $"profile '{request.ProfileName}' does not exist", cancellationToken);
        }

        CsrValidator.Validated validated;
        try
        {
            validated = request.Request is { } decoded
                ? CsrValidator.Validate(decoded, request.OverridePublicKey, profile, _caCertificates)
                : CsrValidator.Validate(request.CsrDer, request.OverridePublicKey, profile, _caCertificates);
        }
        catch (CsrRejectedException ex)
        {
            return await RefuseAsync(request, ex.Reason, ex.Message, cancellationToken);
        }

        string identity = request.Identity ?? requester;
        if (await CheckNamesAsync(validated.Subject, SubjectAltNamesOf(validated), identity, cancellationToken) is { } names)
        {
            return await RefuseAsync(request, names.Reason, names.Detail, cancellationToken);
        }

        var row = new StoredRequest
        {
            RequestKey = request.RequestKey,
            CsrDer = request.CsrDer.ToArray(),
            OverridePublicKey = overrideKey,
            Requester = requester,
            Identity = identity,
            Protocol = protocol,
            Profile = profile.Name,
            ReplacesSerialNumber = request.ReplacesSerialNumber?.ToUpperInvariant(),
            Registrar = request.Registrar,
        };

        if (profile.RequiresApproval || request.ApprovalReason is not null)
        {
            StoredRequest stored;
            string why = request.ApprovalReason is null ? "" : $" held: {request.ApprovalReason}";
            await _pendingGate.WaitAsync(cancellationToken);
            try
            {
                // Counted and inserted in one store transaction, so that nodes sharing the store cannot pass a bound together;
                // the gate keeps this node's own requests from queueing on the store's lock.
                PendingAdmission admission = await _store.TryAddPendingAsync(row,
                    Audit(requester, "pending", $"{validated.Subject.Name} profile {profile.Name} via {protocol}{ViaRegistrar(request.Registrar)}{why}"),
                    new PendingLimits(_maxPendingRequests, _maxPendingRequestsPerIdentity), cancellationToken);
                if (admission.Stored is null)
                {
                    return RefusePendingLimit(requester, identity, perIdentity: admission.IdentityLimitReached);
                }

                stored = admission.Stored;
                _pendingCount.Set(admission.PendingBefore + 1);
            }
            catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.RequestKey)
            {
                // A concurrent identical request got there first.
                return await RepeatAsync((await _store.GetRequestByKeyAsync(request.RequestKey!, cancellationToken))!, request, overrideKey, cancellationToken);
            }
            finally
            {
                _pendingGate.Release();
            }

            CaMetrics.Pending.Add(1, new KeyValuePair<string, object?>("profile", profile.Name));
            CaLog.PendingStored(_logger, stored.Id, requester, profile.Name);
            return IssuanceResult.Pending(stored.Id, repeated: false);
        }

        try
        {
            IssuanceResult result = await SignAndStoreAsync(row, pendingRequestId: null, profile, validated, requester, cancellationToken);
            CaMetrics.IssuanceDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            return result;
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.RequestKey)
        {
            return await RepeatAsync((await _store.GetRequestByKeyAsync(request.RequestKey!, cancellationToken))!, request, overrideKey, cancellationToken);
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.SubjectHeld)
        {
            // Another identity obtained the name between the check above and the write.
            return await RefuseAsync(request, RejectionReason.NameHeldByAnotherRequester, HeldText(validated.Subject), cancellationToken);
        }
    }

    /// <summary>
    /// Refuses a request that would wait past a pending bound: counted, logged at most every <see cref="PendingLimitReportInterval"/>
    /// with the refusals held back meanwhile, and not stored, so that a flood of such requests costs the store nothing.
    /// </summary>
    private IssuanceResult RefusePendingLimit(string requester, string identity, bool perIdentity)
    {
        (string tag, string setting, int max) = perIdentity
            ? ("identity", "Ca:" + nameof(CaOptions.MaxPendingRequestsPerIdentity), _maxPendingRequestsPerIdentity)
            : ("global", "Ca:" + nameof(CaOptions.MaxPendingRequests), _maxPendingRequests);
        CaMetrics.PendingRefused.Add(1, new KeyValuePair<string, object?>("bound", tag));
        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _pendingLimitReportedAt);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= PendingLimitReportInterval)
            && Interlocked.CompareExchange(ref _pendingLimitReportedAt, now, last) == last)
        {
            CaLog.PendingLimit(_logger, requester, identity, setting, max, Interlocked.Exchange(ref _pendingLimitHeldBack, 0));
        }
        else
        {
            Interlocked.Increment(ref _pendingLimitHeldBack);
        }

        return IssuanceResult.Rejected(RejectionReason.TooManyPendingRequests,
            perIdentity ? $"{max} requests of this requester are waiting for approval already; retry later" : "too many requests are waiting for approval; retry later");
    }

    /// <summary>
    /// Issues a registrar certificate (RFC 7030 section 3.7) for an operator: the subject and key of <paramref name="csrDer"/> (a
    /// PKCS#10 request whose signature verifies), keyUsage digitalSignature, extendedKeyUsage id-kp-cmcRA (RFC 6402 section 2.10) and
    /// clientAuth, valid for <paramref name="validityDays"/> days; recorded in the store as issued to <paramref name="actor"/> under
    /// the profile name <see cref="RegistrarProfileName"/> (no configured profile applies), protocol "cli". The registrar's identity is
    /// "registrar:" and the key of its subject (<see cref="DistinguishedNames.Key"/>), so a new certificate for the same registrar
    /// subject is the same identity, and no device can hold that name. Reserved names and names held by another identity are refused.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="actor"/> is empty or too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validityDays"/> is outside 1..36500.</exception>
    public async Task<IssuanceResult> IssueRegistrarCertificateAsync(ReadOnlyMemory<byte> csrDer, string actor, int validityDays, CancellationToken cancellationToken)
    {
        CheckOperatorText(actor, nameof(actor));
        ArgumentOutOfRangeException.ThrowIfLessThan(validityDays, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(validityDays, 36500);
        CertificateProfile profile = CertificateProfile.FromOptions(RegistrarProfileName, new CertificateProfileOptions
        {
            ValidityDays = validityDays,
            KeyUsage = ["DigitalSignature"],
            ExtendedKeyUsage = ["cmcRA", "clientAuth"],
        });
        var request = new IssuanceRequest { CsrDer = csrDer, Requester = actor, Protocol = "cli", ProfileName = RegistrarProfileName };
        CsrValidator.Validated validated;
        try
        {
            validated = CsrValidator.Validate(csrDer, null, profile, _caCertificates);
        }
        catch (CsrRejectedException ex)
        {
            return await RefuseAsync(request, ex.Reason, ex.Message, cancellationToken);
        }

        string identity = "registrar:" + DistinguishedNames.Key(validated.Subject);
        request = new IssuanceRequest { CsrDer = csrDer, Requester = actor, Identity = identity, Protocol = "cli", ProfileName = RegistrarProfileName };
        if (await CheckNamesAsync(validated.Subject, SubjectAltNamesOf(validated), identity, cancellationToken) is { } names)
        {
            return await RefuseAsync(request, names.Reason, names.Detail, cancellationToken);
        }

        var row = new StoredRequest
        {
            CsrDer = csrDer.ToArray(),
            Requester = actor,
            Identity = identity,
            Protocol = "cli",
            Profile = RegistrarProfileName,
        };
        try
        {
            return await SignAndStoreAsync(row, pendingRequestId: null, profile, validated, actor, cancellationToken);
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.SubjectHeld)
        {
            return await RefuseAsync(request, RejectionReason.NameHeldByAnotherRequester, HeldText(validated.Subject), cancellationToken);
        }
    }

    /// <summary>
    /// Approves a pending request: re-checks it against its profile as configured now, issues and commits the certificate.
    /// A request that is no longer pending yields its stored outcome.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No request has this id.</exception>
    /// <exception cref="ProfileNotConfiguredException">The request is pending and its profile is not configured here; it stays pending.</exception>
    public async Task<IssuanceResult> ApproveAsync(long requestId, string actor, CancellationToken cancellationToken)
    {
        CheckOperatorText(actor, nameof(actor));
        StoredRequest request = await _store.GetRequestAsync(requestId, cancellationToken) ?? throw new KeyNotFoundException($"no request {requestId}");
        if (request.Status != RequestStatus.Pending)
        {
            return await StoredOutcomeAsync(request, repeated: true, cancellationToken);
        }

        if (!Profiles.TryGet(request.Profile, out CertificateProfile profile))
        {
            // Not a rejection: an approval from a process configured differently from the servers must not decide the request for good.
            throw new ProfileNotConfiguredException(request.Id, request.Profile);
        }

        CsrValidator.Validated validated;
        try
        {
            PublicKey? overrideKey = request.OverridePublicKey is null ? null : PublicKey.CreateFromSubjectPublicKeyInfo(request.OverridePublicKey, out _);

            // A CRMF CertRequest (CMP) was checked, proof of possession included, before it was stored; PKCS#10 is checked again.
            validated = StoredCrmfRequest.IsCrmf(request.CsrDer)
                ? CsrValidator.Validate(StoredCrmfRequest.Decode(request.CsrDer), overrideKey, profile, _caCertificates)
                : CsrValidator.Validate(request.CsrDer, overrideKey, profile, _caCertificates);
        }
        catch (CsrRejectedException ex)
        {
            return await RejectPendingAsync(request, actor, ex.Reason, ex.Message, cancellationToken);
        }
        catch (CryptographicException ex)
        {
            return await RejectPendingAsync(request, actor, RejectionReason.MalformedRequest, $"stored server-generated key cannot be decoded: {ex.Message}", cancellationToken);
        }

        // Checked again now: the name may have been reserved or obtained by another identity while the request waited.
        if (await CheckNamesAsync(validated.Subject, SubjectAltNamesOf(validated), request.Identity ?? request.Requester, cancellationToken) is { } names)
        {
            return await RejectPendingAsync(request, actor, names.Reason, names.Detail, cancellationToken);
        }

        CaLog.Approved(_logger, requestId, actor);
        try
        {
            return await SignAndStoreAsync(request, requestId, profile, validated, actor, cancellationToken);
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.RequestState)
        {
            // Approved or rejected concurrently: report what happened.
            return await StoredOutcomeAsync((await _store.GetRequestAsync(requestId, cancellationToken))!, repeated: true, cancellationToken);
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.SubjectHeld)
        {
            return await RejectPendingAsync(request, actor, RejectionReason.NameHeldByAnotherRequester, HeldText(validated.Subject), cancellationToken);
        }
    }

    /// <summary>Rejects a pending request; the requester's repeated request then gets this rejection. A request that is no longer pending yields its stored outcome.</summary>
    /// <exception cref="KeyNotFoundException">No request has this id.</exception>
    public async Task<IssuanceResult> RejectAsync(long requestId, string actor, string reason, CancellationToken cancellationToken)
    {
        CheckOperatorText(actor, nameof(actor));
        CheckOperatorText(reason, nameof(reason));
        StoredRequest request = await _store.GetRequestAsync(requestId, cancellationToken) ?? throw new KeyNotFoundException($"no request {requestId}");
        if (request.Status != RequestStatus.Pending)
        {
            return await StoredOutcomeAsync(request, repeated: true, cancellationToken);
        }

        return await RejectPendingAsync(request, actor, RejectionReason.RejectedByOperator, reason, cancellationToken);
    }

    /// <summary>
    /// Records a refusal that a protocol front-end decided itself (e.g. EST's proof-of-possession linking or re-enrollment rules,
    /// RFC 7030 sections 3.5 and 4.2.2) the way a refusal by the CA's policy is recorded: a rejected request in the store (CSR as
    /// received, requester, protocol, profile, reason) with an audit entry, and the same metrics and log. Nothing is issued. Call it
    /// only for clients the front-end has authenticated: every call writes to the store. Like a policy refusal, the request key is
    /// not stored, so a later identical request is judged afresh; a request whose fields are unusable (see
    /// <see cref="RejectionReason.InvalidParameter"/>) is only audited.
    /// </summary>
    /// <returns>The rejection, with the stored request's id.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is <see cref="RejectionReason.None"/> or not a defined value.</exception>
    public async Task<IssuanceResult> RecordRefusalAsync(IssuanceRequest request, RejectionReason reason, string detail, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(detail);
        if (reason == RejectionReason.None || !Enum.IsDefined(reason))
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "a refusal needs a reason");
        }

        return await RefuseAsync(request, reason, detail, cancellationToken);
    }

    /// <summary>
    /// Revokes the certificate with serial <paramref name="serialHex"/> (hex, case-insensitive) for RFC 5280 CRLReason
    /// <paramref name="reason"/> (<see cref="RevocationReasons"/>), now, recording <paramref name="actor"/> in the audit log in the
    /// same transaction. A revoked certificate no longer authenticates its holder, holds no name, and is listed by the next CRL
    /// (<see cref="GetCrlAsync"/>). Revocation is final: revoking again changes nothing and reports
    /// <see cref="RevocationStatus.AlreadyRevoked"/> with the first reason and time. Whether the caller may revoke this certificate
    /// is the caller's business (an operator may revoke any).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is not valid (<see cref="RevocationReasons.IsValid"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="serialHex"/> is not 1..40 hex digits, or <paramref name="actor"/> is empty or too long.</exception>
    public async Task<RevocationResult> RevokeAsync(string serialHex, int reason, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serialHex);
        if (serialHex.Length is 0 or > IssuanceRequest.MaxSerialNumberHexLength || !serialHex.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"a serial number must be 1..{IssuanceRequest.MaxSerialNumberHexLength} hex digits", nameof(serialHex));
        }

        if (!RevocationReasons.IsValid(reason))
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, RevocationReasons.ValidText);
        }

        CheckOperatorText(actor, nameof(actor));
        string serial = serialHex.ToUpperInvariant();
        AuditEntry audit = Audit(actor, "revoke", $"serial {serial} reason {RevocationReasons.NameOf(reason)} ({reason})");
        RevocationStatus status = await _store.RevokeCertificateAsync(serial, reason, _time.GetUtcNow(), audit, cancellationToken);
        StoredCertificate? certificate = status == RevocationStatus.UnknownCertificate ? null : await _store.GetCertificateAsync(serial, cancellationToken);
        if (status == RevocationStatus.Revoked)
        {
            CaMetrics.Revoked.Add(1, new KeyValuePair<string, object?>("reason", RevocationReasons.NameOf(reason)));
            CaLog.Revoked(_logger, serial, RevocationReasons.NameOf(reason), actor);
        }

        return new RevocationResult { Status = status, Certificate = certificate };
    }

    /// <summary>
    /// The current CRL of the issuing CA: an X.509 v2 CRL (RFC 5280 section 5) signed with the issuing CA's key, with the
    /// authority key identifier and a CRL number (from <see cref="ICertificateStore.NextCrlNumberAsync"/>, so increasing across
    /// restarts and processes), listing every revoked certificate with its revocation time and, unless unspecified, its reason code
    /// entry extension. The CRL is kept and handed out again until the set of revoked certificates in the store changes (also by
    /// another process, e.g. the operator's CLI) or less than a quarter of <see cref="CrlValidity"/> is left before its nextUpdate.
    /// </summary>
    public async Task<CrlSnapshot> GetCrlAsync(CancellationToken cancellationToken)
    {
        await _crlLock.WaitAsync(cancellationToken);
        try
        {
            IReadOnlyList<RevokedCertificate> revoked = await _store.ListRevokedAsync(cancellationToken);
            // thisUpdate as encoded (UTCTime/GeneralizedTime carry whole seconds).
            DateTimeOffset now = _time.GetUtcNow();
            now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
            if (_crl is { } cached && _crlEntries is { } entries && entries.SequenceEqual(revoked) && cached.NextUpdate - now > _crlValidity / 4)
            {
                return cached;
            }

            // At least the time in milliseconds: a CA restored from a backup (or a pg_dump), however often, never repeats a number it
            // issued after the backup was taken, as long as it issued fewer than a thousand CRLs a second and the clock is right.
            long number = await _store.NextCrlNumberAsync(_time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
            var builder = new CertificateRevocationListBuilder();
            foreach (RevokedCertificate entry in revoked)
            {
                // RFC 5280 section 5.3.1: the reasonCode extension is absent rather than unspecified (0).
                builder.AddEntry(Convert.FromHexString(entry.SerialNumber), entry.RevokedAt,
                    entry.Reason == RevocationReasons.Unspecified ? null : (X509RevocationReason)entry.Reason);
            }

            DateTimeOffset nextUpdate = now + _crlValidity;
            byte[] der;
            using (CaSigningLease lease = await _hierarchy.IssuingKey.AcquireAsync(cancellationToken))
            {
                (X509SignatureGenerator generator, HashAlgorithmName hash) = CertificateFactory.SignerFor(lease.Key, lease.RsaPadding);
                der = builder.Build(_hierarchy.IssuingCa.SubjectName, generator, new BigInteger(number), nextUpdate, hash,
                    CertificateFactory.AuthorityKeyIdentifierFor(_hierarchy.IssuingCa), now);
            }

            _crl = new CrlSnapshot { Der = der, CrlNumber = number, ThisUpdate = now, NextUpdate = nextUpdate, Count = revoked.Count };
            _crlEntries = revoked;
            CaLog.CrlBuilt(_logger, number, revoked.Count, nextUpdate);
            return _crl;
        }
        finally
        {
            _crlLock.Release();
        }
    }

    /// <summary>Pending requests, oldest first.</summary>
    public Task<IReadOnlyList<StoredRequest>> ListPendingAsync(int limit, CancellationToken cancellationToken) => _store.ListPendingRequestsAsync(limit, cancellationToken);

    private async Task<IssuanceResult> SignAndStoreAsync(StoredRequest row, long? pendingRequestId, CertificateProfile profile, CsrValidator.Validated validated,
        string actor, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now.UtcDateTime >= _hierarchy.IssuingCa.NotAfter.ToUniversalTime())
        {
            throw new InvalidOperationException($"the issuing CA '{_hierarchy.IssuingCa.Subject}' expired on {_hierarchy.IssuingCa.NotAfter.ToUniversalTime():u}");
        }

        var extensions = new List<X509Extension>
        {
            // RFC 5280 section 4.2.1.9: an end entity asserts cA FALSE; section 4.2.1.3: keyUsage critical.
            new X509BasicConstraintsExtension(false, false, 0, critical: true),
        };
        if (profile.KeyUsage != X509KeyUsageFlags.None)
        {
            extensions.Add(new X509KeyUsageExtension(profile.KeyUsage, critical: true));
        }

        if (profile.ExtendedKeyUsages.Count > 0)
        {
            var usages = new OidCollection();
            foreach (string oid in profile.ExtendedKeyUsages)
            {
                usages.Add(new Oid(oid));
            }

            extensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        }

        if (validated.SubjectAltName is not null)
        {
            extensions.Add(validated.SubjectAltName);
        }

        for (int attempt = 1; ; attempt++)
        {
            // Signed before anything is stored: when the key cannot be reached (CaKeyUnavailableException) nothing of the request is kept.
            IssuedCertificate certificate;
            using (CaSigningLease lease = await _hierarchy.IssuingKey.AcquireAsync(cancellationToken))
            {
                certificate = CertificateFactory.Issue(validated.Subject, validated.PublicKey, _hierarchy.IssuingCa, lease.Key, lease.RsaPadding,
                    now - profile.Backdate, now + profile.Validity, CertificateFactory.NewSerialNumber(), extensions);
            }

            StoredCertificate stored = StoredCertificate.FromIssued(certificate, profile.Name, row.Requester, row.ReplacesSerialNumber) with
            {
                Identity = row.Identity ?? row.Requester,
            };
            AuditEntry audit = Audit(actor, "issue", $"serial {stored.SerialNumber} subject {stored.Subject} profile {profile.Name} requester {row.Requester} via {row.Protocol}{ViaRegistrar(row.Registrar)}"
                + (row.ReplacesSerialNumber is null ? "" : $" replaces {row.ReplacesSerialNumber}"));
            try
            {
                StoredRequest committed;
                if (pendingRequestId is null)
                {
                    committed = await _store.AddIssuedAsync(row, stored, audit, cancellationToken);
                }
                else
                {
                    committed = await _store.CompletePendingAsync(pendingRequestId.Value, stored, audit, cancellationToken);
                    _pendingCount.Add(-1);
                }

                CaMetrics.Issued.Add(1, new KeyValuePair<string, object?>("profile", profile.Name), new KeyValuePair<string, object?>("protocol", row.Protocol));
                CaLog.Issued(_logger, stored.SerialNumber, stored.Subject, profile.Name, row.Requester, row.Protocol);
                return IssuanceResult.Issued(certificate, _chain, committed.Id, repeated: false);
            }
            catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.SerialNumber && attempt < MaxSerialAttempts)
            {
                CaMetrics.SerialCollisions.Add(1);
                CaLog.SerialCollision(_logger, stored.SerialNumber);
            }
        }
    }

    private async Task<IssuanceResult> RepeatAsync(StoredRequest earlier, IssuanceRequest request, byte[]? overrideKey, CancellationToken cancellationToken)
    {
        bool same = earlier.CsrDer.AsSpan().SequenceEqual(request.CsrDer.Span)
            && string.Equals(earlier.Requester, request.Requester, StringComparison.Ordinal)
            && (earlier.OverridePublicKey ?? []).AsSpan().SequenceEqual(overrideKey ?? []);
        if (!same)
        {
            // Never hand one requester's certificate to another, nor a certificate for a key the caller does not hold.
            return await RefuseAsync(request, RejectionReason.RequestKeyConflict, "the request key was used before with a different CSR, requester or key", cancellationToken);
        }

        CaMetrics.Repeated.Add(1);
        CaLog.Repeated(_logger, earlier.RequestKey ?? "", earlier.Status);
        if (earlier.Status == RequestStatus.Issued
            && await _store.GetCertificateAsync(earlier.IssuedSerialNumber!, cancellationToken) is { Status: not CertificateStatus.Active } inactive)
        {
            // A repeat gets the certificate it was answered with only while that certificate is current. Issuing anew instead would
            // quietly undo a re-enrollment or a revocation for whoever still holds the old request (a stale retransmission, a
            // device reset to its factory state), so the requester is told to send a new request.
            string what = inactive.Status == CertificateStatus.Revoked ? "revoked" : "superseded by re-enrollment";
            return await RefuseAsync(request, RejectionReason.CertificateNoLongerActive,
                $"this request was answered with certificate {inactive.SerialNumber}, which has since been {what}; it is not issued again: send a new request", cancellationToken);
        }

        return await StoredOutcomeAsync(earlier, repeated: true, cancellationToken);
    }

    private async Task<IssuanceResult> StoredOutcomeAsync(StoredRequest request, bool repeated, CancellationToken cancellationToken)
    {
        switch (request.Status)
        {
            case RequestStatus.Pending:
                return IssuanceResult.Pending(request.Id, repeated);
            case RequestStatus.Rejected:
                return IssuanceResult.Rejected(request.RejectionReason, request.ReasonDetail ?? "", request.Id, repeated);
            default:
                StoredCertificate certificate = await _store.GetCertificateAsync(request.IssuedSerialNumber!, cancellationToken)
                    ?? throw new InvalidOperationException($"request {request.Id} is issued but certificate {request.IssuedSerialNumber} is not in the store");
                return IssuanceResult.Issued(IssuedCertificate.FromStored(certificate), _chain, request.Id, repeated);
        }
    }

    private async Task<IssuanceResult> RejectPendingAsync(StoredRequest request, string actor, RejectionReason reason, string detail, CancellationToken cancellationToken)
    {
        try
        {
            StoredRequest rejected = await _store.RejectPendingAsync(request.Id, reason, detail, Audit(actor, "reject", $"request {request.Id}: {reason} {detail}"), cancellationToken);
            _pendingCount.Add(-1);
            CaMetrics.Rejected.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
            CaLog.RejectedByOperator(_logger, request.Id, actor, detail);
            return IssuanceResult.Rejected(reason, detail, rejected.Id);
        }
        catch (CertificateStoreConflictException ex) when (ex.Conflict == StoreConflict.RequestState)
        {
            return await StoredOutcomeAsync((await _store.GetRequestAsync(request.Id, cancellationToken))!, repeated: true, cancellationToken);
        }
    }

    /// <summary>
    /// A refusal on arrival (CA policy or protocol front-end): stored as a rejected request with its audit entry. The row has no
    /// request key, so a repeat is evaluated again rather than answered from the store: after the operator changes the profile, the
    /// identical request may be issued. Only audited when the request's fields are unusable (requester, protocol or profile name
    /// out of range, or a CSR beyond <see cref="IssuanceRequest.MaxCsrLength"/>, which no protocol front-end passes on).
    /// </summary>
    private async Task<IssuanceResult> RefuseAsync(IssuanceRequest request, RejectionReason reason, string detail, CancellationToken cancellationToken)
    {
        string requester = Bounded(request.Requester ?? "");
        string protocol = Bounded(request.Protocol ?? "");
        detail = detail.Length <= AuditEntry.MaxDetailsLength ? detail : detail[..AuditEntry.MaxDetailsLength];
        CaMetrics.Rejected.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
        CaLog.Rejected(_logger, requester, protocol, reason, detail);
        AuditEntry audit = Audit(requester, "rejected-request", $"{reason}: {detail} via {protocol}{ViaRegistrar(request.Registrar)}");
        if (reason == RejectionReason.InvalidParameter || CheckParameters(request) is not null || request.CsrDer.Length > IssuanceRequest.MaxCsrLength)
        {
            await _store.AppendAuditAsync(audit, cancellationToken);
            return IssuanceResult.Rejected(reason, detail);
        }

        var row = new StoredRequest
        {
            CsrDer = request.CsrDer.ToArray(),
            OverridePublicKey = request.OverridePublicKey?.ExportSubjectPublicKeyInfo(),
            Requester = requester,
            Identity = request.Identity,
            Protocol = protocol,
            Profile = Profiles.TryGet(request.ProfileName, out CertificateProfile profile) ? profile.Name : request.ProfileName ?? "",
            ReplacesSerialNumber = request.ReplacesSerialNumber?.ToUpperInvariant(),
            Registrar = request.Registrar,
        };
        StoredRequest stored = await _store.AddRejectedAsync(row, reason, detail, audit, cancellationToken);
        return IssuanceResult.Rejected(reason, detail, stored.Id);
    }

    private static string? CheckParameters(IssuanceRequest request)
    {
        if (string.IsNullOrEmpty(request.Requester) || request.Requester.Length > IssuanceRequest.MaxRequesterLength)
        {
            return $"requester must be 1..{IssuanceRequest.MaxRequesterLength} characters";
        }

        if (string.IsNullOrEmpty(request.Protocol) || request.Protocol.Length > IssuanceRequest.MaxProtocolLength || !request.Protocol.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return $"protocol must be 1..{IssuanceRequest.MaxProtocolLength} characters of A-Z a-z 0-9 - _ .";
        }

        if (!string.IsNullOrEmpty(request.ProfileName) && !CertificateProfile.IsValidName(request.ProfileName))
        {
            return $"profile name must be 1..{CertificateProfile.MaxNameLength} characters of A-Z a-z 0-9 . _ -";
        }

        if (request.RequestKey is not null && (request.RequestKey.Length is 0 or > IssuanceRequest.MaxRequestKeyLength || request.RequestKey.Any(char.IsControl)))
        {
            return $"request key must be 1..{IssuanceRequest.MaxRequestKeyLength} printable characters";
        }

        if (request.Request is { } decoded && !decoded.Encoded.Span.SequenceEqual(request.CsrDer.Span))
        {
            return "the decoded request must be the decoding of the CSR";
        }

        if (request.Identity is not null && (request.Identity.Length is 0 or > IssuanceRequest.MaxRequesterLength))
        {
            return $"identity must be 1..{IssuanceRequest.MaxRequesterLength} characters";
        }

        if (request.Registrar is not null && (request.Registrar.Length is 0 or > IssuanceRequest.MaxRequesterLength))
        {
            return $"registrar must be 1..{IssuanceRequest.MaxRequesterLength} characters";
        }

        if (request.ApprovalReason is not null && (string.IsNullOrWhiteSpace(request.ApprovalReason) || request.ApprovalReason.Length > MaxOperatorTextLength))
        {
            return $"approval reason must be 1..{MaxOperatorTextLength} characters";
        }

        if (request.ReplacesSerialNumber is not null &&
            (request.ReplacesSerialNumber.Length is 0 or > IssuanceRequest.MaxSerialNumberHexLength || !request.ReplacesSerialNumber.All(char.IsAsciiHexDigit)))
        {
            return $"replaced serial number must be 1..{IssuanceRequest.MaxSerialNumberHexLength} hex digits";
        }

        return null;
    }

    private static IReadOnlyList<GeneralName> SubjectAltNamesOf(CsrValidator.Validated validated) =>
        validated.SubjectAltName is { } san ? GeneralName.TryDecodeAll(san.RawData) ?? [] : [];

    private static string HeldText(X500DistinguishedName subject) =>
        $"name held by another requester: an active certificate of another requester has the subject {PrintableText.Escape(subject.Name)}";

    private static void CheckOperatorText(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxOperatorTextLength)
        {
            throw new ArgumentException($"must be 1..{MaxOperatorTextLength} characters", name);
        }
    }

    private static string ViaRegistrar(string? registrar) => registrar is null ? "" : $" via registrar {registrar}";

    private static string Bounded(string value) => value.Length <= IssuanceRequest.MaxRequesterLength ? value : value[..IssuanceRequest.MaxRequesterLength];

    private AuditEntry Audit(string actor, string action, string details) => new() { Timestamp = _time.GetUtcNow(), Actor = actor.Length == 0 ? "(none)" : actor, Action = action, Details = details };
}
