using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Enrollment;

/// <summary>
/// The enrollment decisions every front end (EST-coaps, EST over HTTPS, CMP) shares, stated once: who the requester is
/// (<see cref="AuthenticateAsync(PeerIdentity, CancellationToken)"/>), whether it may have what it asks for (<see cref="AuthorizeAsync"/>: proof of possession,
/// its link to the channel, the re-enrollment rules of RFC 7030 §4.2.2, the names it may have), and issuing it through the <see cref="CertificateAuthority"/>
/// with idempotency and, for server-side key generation, the key (<see cref="IssueAsync"/>). Every refusal of an authenticated
/// requester is recorded in the store. Front ends translate <see cref="EnrollmentOutcome"/> into their codes. Safe for concurrent use.
/// </summary>
public sealed partial class EnrollmentService
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const string InactiveCertificate = "the client certificate is not an active certificate of this CA (revoked or superseded)";

    // Re-enrollments that superseded one certificate: one, or a few when the holder sent concurrent ones before the first committed.
    private const int MaxRepeatableRequests = 16;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ServerKeyGenerator _keys;

    public EnrollmentService(CertificateAuthority authority, CaHierarchy hierarchy, EnrollmentOptions options, ILogger<EnrollmentService>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(hierarchy);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PendingRetryAfter < TimeSpan.FromSeconds(1) || options.PendingRetryAfter.TotalSeconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "PendingRetryAfter must be at least one second");
        }

        Authority = authority;
        Hierarchy = hierarchy;
        Options = options;
        TrustPolicy = new EnrollmentTrustPolicy(hierarchy, options.AcceptExpiredManufacturerCertificates);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _keys = new ServerKeyGenerator(options.KeyGenerationSecret);
        foreach (CertificateProfile profile in authority.Profiles.All.Where(p => p.NamePolicy == NamePolicy.AnyName))
        {
            LogAnyName(_logger, profile.Name);
        }
    }

    /// <summary>The CA that issues.</summary>
    public CertificateAuthority Authority { get; }

    /// <summary>The CA hierarchy behind it.</summary>
    public CaHierarchy Hierarchy { get; }

    /// <summary>The settings.</summary>
    public EnrollmentOptions Options { get; }

    /// <summary>Which client certificates may ask at all; also what the (D)TLS handshake should trust.</summary>
    public EnrollmentTrustPolicy TrustPolicy { get; }

    /// <summary>
    /// Authenticates a peer (RFC 9148 §3, RFC 7030 §3.3.2): a secure channel with a client certificate (or a request signed with a
    /// certificate, <see cref="PeerIdentity.SignedMessage"/>, judged the same way) that is either a current
    /// certificate of this CA (active in the store: neither revoked nor superseded) or chains to a trusted manufacturer CA, and is
    /// an end-entity certificate fit for client authentication (<see cref="EnrollmentTrustPolicy.CheckDeviceIdentity"/>).
    /// Failures are not recorded in the store: anyone can complete a handshake with a self-signed certificate, and a row per
    /// attempt would let unauthenticated peers fill the CA's disk. A request whose MAC the front end verified with a configured shared
    /// secret (<see cref="PeerIdentity.SharedSecret"/>) is the <see cref="RequesterTrust.SharedSecret"/> requester "secret:reference".
    /// </summary>
    public Task<AuthenticationResult> AuthenticateAsync(PeerIdentity peer, CancellationToken cancellationToken) => AuthenticateAsync(peer, null, cancellationToken);

    /// <summary>
    /// As <see cref="AuthenticateAsync(PeerIdentity, CancellationToken)"/>, for a front end that knows before reading the request what
    /// it asks for. For <see cref="EnrollmentOperation.Reenroll"/> (EST /sren and simplereenroll, CMP kur) a certificate of this CA
    /// that is superseded (not revoked), presented byte for byte as stored, authenticates when the store holds an issued
    /// re-enrollment that this certificate's holder made and that superseded it: the answer to that request may have been lost
    /// (a timeout, a crash after the commit), and the holder repeats it with the only certificate it knows to hold. Such a requester
    /// is <see cref="Requester.IsRepeatOnly"/>: <see cref="AuthorizeAsync"/> refuses it anything but exactly that request, and the
    /// CA answers the repeat from the store.
    /// </summary>
    public async Task<AuthenticationResult> AuthenticateAsync(PeerIdentity peer, EnrollmentOperation? operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.SharedSecretReference is { } reference)
        {
            // The front end verified the MAC with the secret configured under this reference: whoever holds it is this requester.
            // Escaped in full, never cut: two references must stay two identities.
            string secret = SharedSecretIdentityPrefix + PrintableText.Escape(reference, reference.Length);
            return AuthenticationResult.Authenticated(new Requester(peer, null, secret, RequesterTrust.SharedSecret, secret, peer.SharedSecretGrant));
        }

        if (!peer.IsSecureChannel && !peer.IsSignedMessage)
        {
            return AuthenticationResult.Failed(AuthenticationFailure.NoSecureChannel, "anonymous", "a secure channel with a client certificate is needed");
        }

        if (peer.Certificates.Count == 0)
        {
            // A PSK identity names who was refused, for the operator; it is the peer's choice of bytes, so escaped.
            string who = peer.PskIdentity is { } psk ? $"PSK identity {PrintableText.Escape(psk.Span)}" : "anonymous";
            return AuthenticationResult.Failed(AuthenticationFailure.NoCertificate, who, "a client certificate is needed");
        }

        X509Certificate2 leaf = peer.Certificates[0];
        string name = NameOf(leaf);
        RequesterTrust? trust = TrustPolicy.Evaluate(peer.Certificates, _time.GetUtcNow());
        if (peer.IsSecureChannel && !peer.IsSignedMessage && EnrollmentTrustPolicy.HasRegistrarUsage(leaf)
            && await AuthenticateRegistrarAsync(peer, leaf, name, trust, cancellationToken) is { } registrar)
        {
            return registrar;
        }

        if (trust is not null && EnrollmentTrustPolicy.CheckDeviceIdentity(leaf) is { } unsuitable)
        {
            return AuthenticationResult.Failed(AuthenticationFailure.UnsuitableCertificate, name, unsuitable);
        }

        switch (trust)
        {
            case RequesterTrust.ThisCa:
                StoredCertificate? stored = await Authority.Store.GetCertificateAsync(leaf.SerialNumber, cancellationToken);
                if (stored is not null && stored.Der.AsSpan().SequenceEqual(leaf.RawData))
                {
                    if (stored.Status == CertificateStatus.Active)
                    {
                        return AuthenticationResult.Authenticated(new Requester(peer, leaf, name, RequesterTrust.ThisCa, stored.Identity ?? stored.Requester));
                    }

                    if (stored.Status == CertificateStatus.Superseded && operation == EnrollmentOperation.Reenroll
                        && await RepeatableRequestKeysAsync(stored.SerialNumber, name, cancellationToken) is { Count: > 0 } repeatable)
                    {
                        return AuthenticationResult.Authenticated(new Requester(peer, leaf, name, RequesterTrust.ThisCa, stored.Identity ?? stored.Requester,
                            repeatableRequestKeys: repeatable));
                    }
                }

                return AuthenticationResult.Failed(AuthenticationFailure.InactiveCertificateOfThisCa, name, InactiveCertificate);

            case RequesterTrust.Manufacturer:
                return AuthenticationResult.Authenticated(new Requester(peer, leaf, name, RequesterTrust.Manufacturer, name));

            default:
                return AuthenticationResult.Failed(AuthenticationFailure.UntrustedCertificate, name,
                    "the client certificate does not chain to this CA or a trusted manufacturer CA");
        }
    }

    /// <summary>
    /// The identity of a device a registrar enrolls (RFC 7030 §3.7): "device:" and the key of the requested subject
    /// (<see cref="DistinguishedNames.Key"/>: case, white space and attribute order do not matter). The server never sees the device's
    /// own certificate, so the subject it asks for is what names it: the device that holds a subject through a registrar may renew
    /// and enroll it again through any trusted registrar, while a subject held by a device that enrolled itself (whose identity is its
    /// certificate) stays that device's.
    /// </summary>
    public static string DeviceIdentityOf(X500DistinguishedName subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return "device:" + DistinguishedNames.Key(subject);
    }

    /// <summary>
    /// Applies the rules, in this order, and records a refusal in the store: the proof of possession verifies (not for server-side
    /// key generation, where the request's key is replaced, RFC 9148 §4.8), with an algorithm and a key this CA handles; the
    /// template's strings and extensions are well-formed (<see cref="CertificationRequest.TryCheckTemplate"/>); its link to the channel (RFC 7030 §3.5) holds where it is
    /// claimed or required, over a channel whose binding is unique (RFC 7627 §6.1); re-enrollment comes from a current certificate of
    /// this CA and asks for the same subject and subjectAltName (RFC 7030 §4.2.2); the names: none is reserved
    /// (<see cref="ReservedNames"/>), they are bound to the requester's certificate as the profile's <see cref="NamePolicy"/> says
    /// (under <see cref="NamePolicy.AnyNameHeldForApproval"/> an unbound name is authorized to wait for an operator), and the
    /// subject is not held by an active certificate of another identity (<see cref="Requester.Identity"/>). Who may ask at all is
    /// <see cref="AuthenticateAsync(PeerIdentity, CancellationToken)"/>'s: only this CA's and trusted manufacturers' certificates, and configured shared secrets. A
    /// shared secret (<see cref="RequesterTrust.SharedSecret"/>) enrolls anew, never re-enrolls, for its granted profile if it has
    /// one, and for the names its <see cref="SharedSecretGrant"/> allows (<see cref="SharedSecretGrant.AnyName"/>: any name; else
    /// the granted subject, or CN=reference alone or a profile's subject template filled from it; subjectAltNames only from the profile's templates and
    /// allowed names), whatever the profile's <see cref="NamePolicy"/> but <see cref="NamePolicy.AnyNameHeldForApproval"/>, under
    /// which an unbound name waits for an operator. A request that protects itself (a signed or MAC-protected CMP message) has no
    /// channel, so no channel linking applies to it.
    /// </summary>
    public async Task<EnrollmentAuthorization> AuthorizeAsync(EnrollmentRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // RFC 7030 §3.7: the server trusts a registrar's authentication of the device and its proof-of-possession check, so the
        // link to the registrar's own channel is not asked for, and the names and re-enrollment are the device's (CheckRegistrarRequestAsync).
        bool viaRegistrar = request.Requester.Trust == RequesterTrust.Registrar;
        string identity = viaRegistrar ? DeviceIdentityOf(request.Request.Subject) : request.Requester.Identity;
        // Retransmissions and repeats after a pending answer carry the same request over the same identity: one certificate.
        string requestKey = IssuanceRequest.ComputeRequestKey(request.Request.Encoded.Span,
            $"{request.Requester.Name}|{request.OperationName}|{ProfileNameOf(request.ProfileName)}");
        if (request.Requester.RepeatableRequestKeys is { } repeatable && !repeatable.Contains(requestKey, StringComparer.Ordinal))
        {
            // A superseded certificate authenticated only to repeat the re-enrollment that superseded it; anything else is refused as
            // authentication refuses an inactive certificate, and, as such failures are, not stored.
            return new EnrollmentAuthorization(request, RefuseRepeatOnly(request.Requester, request.OperationName), null, null, null, identity);
        }

        (RejectionReason reason, string text)? refusal = CheckProofOfPossession(request) ?? CheckTemplate(request)
            ?? (viaRegistrar ? null : await CheckLinkingOrRepeatAsync(request, requestKey, cancellationToken))
            ?? CheckSharedSecret(request) ?? (viaRegistrar ? null : CheckReenrollment(request));
        string? replaces = !viaRegistrar && request.Operation == EnrollmentOperation.Reenroll ? request.Requester.Certificate?.SerialNumber : null;
        string? approvalReason = null;
        if (refusal is null && viaRegistrar)
        {
            (refusal, replaces) = await CheckRegistrarRequestAsync(request, identity, cancellationToken);
        }

        if (refusal is null)
        {
            (refusal, approvalReason) = await CheckNamesAsync(request, identity, cancellationToken);
        }

        if (refusal is { } r)
        {
            EnrollmentOutcome refused = await RefuseAsync(request.Requester, identity, request.Operation, request.OperationName, request.ProfileName, request.Request.Encoded,
                r.reason, r.text, cancellationToken);
            return new EnrollmentAuthorization(request, refused, null, null, null, identity);
        }

        return new EnrollmentAuthorization(request, null, requestKey, replaces, approvalReason, identity);
    }

    /// <summary>
    /// The checks this node makes as a registrar (RFC 7030 §3.7, RFC 9148 §5) before it forwards <paramref name="request"/> to an
    /// upstream CA, which then trusts them: the proof of possession verifies (not for server-side key generation); the template is
    /// well-formed; the link to the channel holds where it is claimed or required (RFC 7030 §3.5); no name is reserved here; a
    /// re-enrollment asks for exactly the subject and subjectAltName of the client certificate (RFC 7030 §4.2.2); any other request
    /// asks only for names bound to the client certificate as <paramref name="profile"/> says (its templates and allowed names
    /// included; only <see cref="NamePolicy.AnyName"/> lifts it: approval is the upstream CA's to hold). Null when it may be forwarded.
    /// Nothing is stored: the upstream CA records the request, and its refusal, with this registrar.
    /// </summary>
    public (RejectionReason Reason, string Detail)? CheckForwarding(EnrollmentRequest request, CertificateProfile profile)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(profile);
        if (request.Requester.Certificate is not { } certificate)
        {
            return (RejectionReason.NotAuthorized, "a registrar forwards requests of devices authenticated with a certificate");
        }

        if (request.Requester.IsRepeatOnly)
        {
            // The request it may repeat is in this node's store, not upstream's.
            return (RejectionReason.CertificateNoLongerActive, InactiveCertificate);
        }

        if ((CheckProofOfPossession(request) ?? CheckTemplate(request) ?? CheckLinking(request)) is { } refusal)
        {
            return refusal;
        }

        X500DistinguishedName subject = request.Request.Subject;
        IReadOnlyList<GeneralName>? altNames = request.Request.SubjectAltName is { } san ? GeneralName.TryDecodeAll(san) : [];
        if (altNames is null)
        {
            return (RejectionReason.MalformedRequest, "subjectAltName cannot be decoded");
        }

        if (Authority.ReservedNames.Find(subject, altNames) is { } reserved)
        {
            return (RejectionReason.ReservedName, reserved);
        }

        if (request.Operation == EnrollmentOperation.Reenroll)
        {
            byte[]? requested = request.Request.SubjectAltName;
            byte[]? held = certificate.Extensions[SubjectAltNameOid]?.RawData;
            if (!subject.RawData.AsSpan().SequenceEqual(certificate.SubjectName.RawData))
            {
                return (RejectionReason.NotAuthorized, "the CSR subject differs from the certificate being renewed (RFC 7030 section 4.2.2)");
            }

            return (requested is null) != (held is null) || !(requested ?? []).AsSpan().SequenceEqual(held ?? [])
                ? (RejectionReason.NotAuthorized, "the CSR subjectAltName differs from the certificate being renewed (RFC 7030 section 4.2.2)")
                : null;
        }

        return profile.NamePolicy != NamePolicy.AnyName && NameBinding.Check(profile, certificate, subject, altNames) is { } unbound
            ? (RejectionReason.NameNotBoundToRequester, $"name not bound to the requester: {unbound}")
            : null;
    }

    /// <summary>
    /// Issues an authorized request, or returns the stored outcome of the identical earlier request (issued, pending, or refused by
    /// an operator). For server-side key generation the key is derived from the request key, so a repeat gets the same key.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="authorization"/> is a refusal.</exception>
    public async Task<EnrollmentOutcome> IssueAsync(EnrollmentAuthorization authorization, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        if (!authorization.IsAuthorized)
        {
            throw new ArgumentException("the request was refused", nameof(authorization));
        }

        EnrollmentRequest request = authorization.Request;
        ECDsa? generated = request.Operation == EnrollmentOperation.ServerKeyGeneration ? _keys.Generate(authorization.RequestKey!) : null;
        try
        {
            IssuanceResult result = await Authority.IssueAsync(new IssuanceRequest
            {
                CsrDer = request.Request.Encoded,
                Request = request.Request,
                Requester = request.Requester.Name,
                Identity = authorization.Identity,
                Registrar = RegistrarOf(request.Requester),
                Protocol = request.Requester.Peer.FrontEnd,
                ProfileName = ProfileNameOf(request.ProfileName),
                RequestKey = authorization.RequestKey,
                ApprovalReason = authorization.ApprovalReason,
                ReplacesSerialNumber = authorization.ReplacesSerialNumber,
                OverridePublicKey = generated is null ? null : new PublicKey(generated),
            }, cancellationToken);

            EnrollmentOutcome outcome;
            switch (result.Status)
            {
                case IssuanceStatus.Issued:
                    outcome = EnrollmentOutcome.Issued(result.IssuedCertificate!, result.Chain, generated, result.RequestId, result.Repeated);
                    generated = null;
                    break;
                case IssuanceStatus.Pending:
                    outcome = EnrollmentOutcome.Pending(result.RequestId, Options.PendingRetryAfter, result.Repeated);
                    break;
                case IssuanceStatus.Rejected when result.Reason == RejectionReason.TooManyPendingRequests:
                    // Not stored and not final: the requester repeats it once an operator has decided on some.
                    outcome = EnrollmentOutcome.Refused(result.Reason, result.Detail ?? result.Reason.ToString(), null, Options.PendingRetryAfter);
                    break;
                default:
                    outcome = EnrollmentOutcome.Refused(result.Reason, result.Detail ?? result.Reason.ToString(), result.RequestId);
                    break;
            }

            EnrollmentMetrics.Count(request.Requester, request.Operation, outcome.Status);
            return outcome;
        }
        finally
        {
            generated?.Dispose();
        }
    }

    /// <summary>Authorizes and, when authorized, issues: for front ends with no checks of their own in between.</summary>
    public async Task<EnrollmentOutcome> EnrollAsync(EnrollmentRequest request, CancellationToken cancellationToken)
    {
        EnrollmentAuthorization authorization = await AuthorizeAsync(request, cancellationToken);
        return authorization.Refusal ?? await IssueAsync(authorization, cancellationToken);
    }

    /// <summary>
    /// Refuses an authorized request for a reason of the front end's own (e.g. EST cannot encrypt the generated key to the named
    /// recipient, RFC 7030 §4.4.1), recorded like every other refusal.
    /// </summary>
    public Task<EnrollmentOutcome> RefuseAsync(EnrollmentAuthorization authorization, RejectionReason reason, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        EnrollmentRequest request = authorization.Request;
        return RefuseAsync(request.Requester, authorization.Identity, request.Operation, request.OperationName, request.ProfileName, request.Request.Encoded, reason, text,
            cancellationToken);
    }

    /// <summary>
    /// Records the refusal of an authenticated requester's request (also one that could not be decoded) in the store, as the
    /// issuance would have stored it: requester, front end, profile, the request as received, the certificate being renewed; the
    /// operation name prefixes the stored reason.
    /// </summary>
    public Task<EnrollmentOutcome> RefuseAsync(Requester requester, EnrollmentOperation operation, string operationName, string? profileName,
        ReadOnlyMemory<byte> received, RejectionReason reason, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requester);
        // A request of a repeat-only requester that cannot even be read is no repeat of the one it may make.
        return requester.IsRepeatOnly
            ? Task.FromResult(RefuseRepeatOnly(requester, operationName))
            : RefuseAsync(requester, requester.Identity, operation, operationName, profileName, received, reason, text, cancellationToken);
    }

    private EnrollmentOutcome RefuseRepeatOnly(Requester requester, string operationName)
    {
        const string Text = InactiveCertificate + "; superseded, it may only repeat the re-enrollment that superseded it";
        LogRefused(_logger, operationName, requester.Name, RejectionReason.CertificateNoLongerActive, Text);
        return EnrollmentOutcome.Refused(RejectionReason.CertificateNoLongerActive, Text, null);
    }

    private async Task<EnrollmentOutcome> RefuseAsync(Requester requester, string identity, EnrollmentOperation operation, string operationName, string? profileName,
        ReadOnlyMemory<byte> received, RejectionReason reason, string text, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(operationName);
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string? renewing = operation == EnrollmentOperation.Reenroll && requester.Trust == RequesterTrust.ThisCa ? requester.Certificate?.SerialNumber : null;
        IssuanceResult recorded = await Authority.RecordRefusalAsync(new IssuanceRequest
        {
            CsrDer = received,
            Requester = requester.Name,
            Identity = identity,
            Registrar = RegistrarOf(requester),
            Protocol = requester.Peer.FrontEnd,
            ProfileName = ProfileNameOf(profileName),
            ReplacesSerialNumber = renewing,
        }, reason, $"/{operationName}: {text}", cancellationToken);
        LogRefused(_logger, operationName, requester.Name, reason, text);
        EnrollmentMetrics.Count(requester, operation, EnrollmentStatus.Refused);
        return EnrollmentOutcome.Refused(reason, text, recorded.RequestId);
    }

    // RFC 2986 §3, RFC 7030 §3.4: the request's signature with its own key. Server-side key generation ignores both (RFC 9148 §4.8).
    // A proof that cannot be checked (an algorithm or a key this CA does not handle) is refused for that, not as a bad signature.
    private static (RejectionReason, string)? CheckProofOfPossession(EnrollmentRequest request)
    {
        if (request.Operation == EnrollmentOperation.ServerKeyGeneration)
        {
            return null;
        }

        if (request.Request.ProofOfPossession is not { } pop)
        {
            return (RejectionReason.MalformedRequest, "the request has no public key and no proof of possession: only server-side key generation certifies a key it did not get");
        }

        ProofOfPossessionResult proof = pop.Check();
        return proof.IsVerified ? null : (proof.Reason, proof.Detail);
    }

    // The subject's strings and the requested extensions' form (CertificationRequest.TryCheckTemplate), before any rule reads a
    // name from them: a name that is not a valid string is refused for that, not compared.
    private static (RejectionReason, string)? CheckTemplate(EnrollmentRequest request) =>
        request.Request.TryCheckTemplate(out RejectionReason reason, out string? detail) ? null : (reason, detail!);

    // A request whose answer was lost (a crash of the server, a timeout) is repeated in a new session, whose tls-unique its CSR cannot
    // carry: a CSR linked to the first session fails the check below there. When this CA accepted the request before (a row with its
    // request key: the same requester certificate, operation, profile and CSR bytes; refusals are stored without one), the link was
    // checked in the session that made it, and IssueAsync answers the repeat from the store, issuing nothing.
    private async Task<(RejectionReason, string)?> CheckLinkingOrRepeatAsync(EnrollmentRequest request, string requestKey, CancellationToken cancellationToken)
    {
        if (CheckLinking(request) is not { } refusal)
        {
            return null;
        }

        return await Authority.Store.GetRequestByKeyAsync(requestKey, cancellationToken) is null ? refusal : null;
    }

    // Linking identity and POP (RFC 7030 §3.5, RFC 9148 §3): the claim is base64 of the channel's tls-unique. Without the extended
    // master secret a man in the middle can give two sessions the same tls-unique (RFC 7627 §6.1): then it links nothing.
    private (RejectionReason, string)? CheckLinking(EnrollmentRequest request)
    {
        string? claim = request.ChannelBindingClaim;
        ChannelBinding? binding = request.Requester.Peer.ChannelBinding;
        if (request.Requester.Peer.IsSignedMessage || request.Requester.Peer.SharedSecretReference is not null)
        {
            // A request that protects itself (signature or MAC) is bound to nothing but itself: there is no channel to link to.
            return null;
        }

        if (claim is null && !Options.RequireProofOfPossessionLinking)
        {
            return null;
        }

        if (binding is not { IsUnique: true })
        {
            return (RejectionReason.NotAuthorized, binding is null
                ? "linking of identity and POP information needs a channel binding, and this channel has none"
                : binding.NotUniqueReason is { } reason ? $"linking of identity and POP information is impossible on this {binding.Channel} session: {reason}"
                : $"linking of identity and POP information needs a {binding.Channel} session with extended_master_secret: without it {binding.Type} is not unique to the session (RFC 7627 section 6.1)");
        }

        if (claim is null)
        {
            return (RejectionReason.NotAuthorized, $"linking of identity and POP information is required: put base64({binding.Type}) in challengePassword (RFC 7030 section 3.5)");
        }

        byte[] expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(binding.Value.Span));
        byte[] actual = Encoding.UTF8.GetBytes(claim);
        return CryptographicOperations.FixedTimeEquals(expected, actual)
            ? null
            : (RejectionReason.NotAuthorized, $"the challengePassword does not match the {binding.Type} value of this {binding.Channel} session (RFC 7030 section 3.5)");
    }

    // RFC 7030 §4.2.2: re-enrollment by the holder of a current certificate of this CA, for the same subject and subjectAltName.
    private static (RejectionReason, string)? CheckReenrollment(EnrollmentRequest request)
    {
        if (request.Operation != EnrollmentOperation.Reenroll)
        {
            return null;
        }

        if (request.Requester.Trust != RequesterTrust.ThisCa || request.Requester.Certificate is not { } current)
        {
            return (RejectionReason.NotAuthorized, "re-enrollment needs a current certificate issued by this CA");
        }

        if (!request.Request.Subject.RawData.AsSpan().SequenceEqual(current.SubjectName.RawData))
        {
            return (RejectionReason.NotAuthorized, "the CSR subject differs from the certificate being renewed (RFC 7030 section 4.2.2)");
        }

        byte[]? requested = request.Request.SubjectAltName;
        byte[]? held = current.Extensions[SubjectAltNameOid]?.RawData;
        if ((requested is null) != (held is null) || !(requested ?? []).AsSpan().SequenceEqual(held ?? []))
        {
            return (RejectionReason.NotAuthorized, "the CSR subjectAltName differs from the certificate being renewed (RFC 7030 section 4.2.2)");
        }

        return null;
    }

    // A shared secret enrolls anew (no certificate to renew), for its granted profile only when it has one.
    private (RejectionReason, string)? CheckSharedSecret(EnrollmentRequest request)
    {
        if (request.Requester.Trust != RequesterTrust.SharedSecret)
        {
            return null;
        }

        if (request.Operation == EnrollmentOperation.Reenroll)
        {
            return (RejectionReason.NotAuthorized, "a shared secret may request a new certificate, not renew one: re-enrollment needs a current certificate issued by this CA");
        }

        if (request.Requester.Grant?.Profile is { } granted && !string.Equals(ProfileNameOf(granted), ProfileNameOf(request.ProfileName), StringComparison.Ordinal))
        {
            return (RejectionReason.NotAuthorized, $"the shared secret is not granted profile '{PrintableText.Escape(ProfileNameOf(request.ProfileName) ?? "")}'");
        }

        return null;
    }

    // The names of the request: reserved names first (they are refused whatever the profile says), then whether they are bound to the
    // requester under the profile, then whether another identity holds the subject; asking whose a name is before establishing that
    // the requester may have it would tell any device which names exist. An unknown profile is the CA's to refuse.
    private async Task<((RejectionReason, string)? Refusal, string? ApprovalReason)> CheckNamesAsync(EnrollmentRequest request, string identity, CancellationToken cancellationToken)
    {
        if (!Authority.Profiles.TryGet(request.ProfileName, out CertificateProfile profile))
        {
            return (null, null);
        }

        X500DistinguishedName subject = request.Request.Subject;
        IReadOnlyList<GeneralName>? altNames = request.Request.SubjectAltName is { } san ? GeneralName.TryDecodeAll(san) : [];
        if (altNames is null)
        {
            return ((RejectionReason.MalformedRequest, "subjectAltName cannot be decoded"), null);
        }

        if (Authority.ReservedNames.Find(subject, altNames) is { } reserved)
        {
            return ((RejectionReason.ReservedName, reserved), null);
        }

        string? approvalReason = null;
        string? unbound = request.Requester switch
        {
            { Trust: RequesterTrust.SharedSecret } secret => NameBinding.CheckSharedSecret(profile, secret.Grant, secret.Peer.SharedSecretReference!, subject, altNames),
            // The registrar bound the names to the device it authenticated (RFC 7030 §3.7); its own certificate names only itself.
            { Trust: RequesterTrust.Registrar } => null,
            { Certificate: { } certificate } when profile.NamePolicy != NamePolicy.AnyName => NameBinding.Check(profile, certificate, subject, altNames),
            _ => null,
        };
        if (unbound is not null)
        {
            string text = $"name not bound to the requester: {unbound}";
            // Only AnyNameHeldForApproval lets an operator decide; a shared secret's names are bound under AnyName too.
            if (profile.NamePolicy != NamePolicy.AnyNameHeldForApproval)
            {
                return ((RejectionReason.NameNotBoundToRequester, text), null);
            }

            approvalReason = text;
        }

        return (await Authority.CheckNamesAsync(subject, altNames, identity, cancellationToken), approvalReason);
    }

    // The request keys of the issued re-enrollments that superseded certificate `serial` and that its holder (`name`: the requester
    // name of that certificate) made itself; a registrar's renewal of the device (another requester) is the registrar's to repeat.
    private async Task<IReadOnlyList<string>> RepeatableRequestKeysAsync(string serial, string name, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredRequest> replacing = await Authority.Store.FindRequestsReplacingAsync(serial, MaxRepeatableRequests, cancellationToken);
        return [.. replacing.Where(r => r.RequestKey is not null && string.Equals(r.Requester, name, StringComparison.Ordinal)).Select(r => r.RequestKey!)];
    }

    // A certificate with id-kp-cmcRA is a registrar when it is an active certificate of this CA (and the operator trusts those as
    // registrars) or chains to a trusted registrar CA; otherwise null, and it is judged as any device certificate is.
    private async Task<AuthenticationResult?> AuthenticateRegistrarAsync(PeerIdentity peer, X509Certificate2 leaf, string name, RequesterTrust? trust,
        CancellationToken cancellationToken)
    {
        bool ofThisCa = trust == RequesterTrust.ThisCa && Options.TrustRegistrarsOfThisCa;
        if (!ofThisCa && !TrustPolicy.ChainsToRegistrarCa(peer.Certificates, _time.GetUtcNow()))
        {
            return null;
        }

        if (EnrollmentTrustPolicy.CheckDeviceIdentity(leaf) is { } unsuitable)
        {
            return AuthenticationResult.Failed(AuthenticationFailure.UnsuitableCertificate, name, unsuitable);
        }

        string identity = name;
        if (ofThisCa)
        {
            StoredCertificate? stored = await Authority.Store.GetCertificateAsync(leaf.SerialNumber, cancellationToken);
            if (stored is not { Status: CertificateStatus.Active } || !stored.Der.AsSpan().SequenceEqual(leaf.RawData))
            {
                return AuthenticationResult.Failed(AuthenticationFailure.InactiveCertificateOfThisCa, name, InactiveCertificate);
            }

            identity = stored.Identity ?? stored.Requester;
        }

        return AuthenticationResult.Authenticated(new Requester(peer, leaf, name, RequesterTrust.Registrar, identity));
    }

    // A request a registrar submits names its device (DeviceIdentityOf): by a CN or a serialNumber, as a device's own request must.
    // Re-enrollment (RFC 7030 §4.2.2) renews an active, unexpired certificate of this CA that the same device identity holds with the
    // same subject and subjectAltName: the registrar authenticated the device with it, the server only sees that it exists.
    private async Task<((RejectionReason, string)? Refusal, string? Replaces)> CheckRegistrarRequestAsync(EnrollmentRequest request, string identity,
        CancellationToken cancellationToken)
    {
        X500DistinguishedName subject = request.Request.Subject;
        IReadOnlyList<NameAttribute>? attributes = DistinguishedNames.TryGetAttributes(subject);
        if (attributes is null || !attributes.Any(a => a.Oid is DistinguishedNames.CommonNameOid or DistinguishedNames.SerialNumberOid))
        {
            return ((RejectionReason.NameNotBoundToRequester,
                "name not bound to a device: a request through a registrar names its device by a CN or a serialNumber in the subject"), null);
        }

        if (request.Operation != EnrollmentOperation.Reenroll)
        {
            return (null, null);
        }

        DateTimeOffset now = _time.GetUtcNow();
        byte[]? requested = request.Request.SubjectAltName;
        foreach (StoredCertificate held in await Authority.Store.FindCertificatesBySubjectAsync(subject.Name, 100, cancellationToken))
        {
            if (held.Status != CertificateStatus.Active || held.NotAfter <= now || !string.Equals(held.Identity, identity, StringComparison.Ordinal))
            {
                continue;
            }

            using X509Certificate2 current = held.ToCertificate();
            byte[]? heldSan = current.Extensions[SubjectAltNameOid]?.RawData;
            if (current.SubjectName.RawData.AsSpan().SequenceEqual(subject.RawData)
                && (requested is null) == (heldSan is null) && (requested ?? []).AsSpan().SequenceEqual(heldSan ?? []))
            {
                return (null, held.SerialNumber);
            }
        }

        return ((RejectionReason.NotAuthorized, "re-enrollment through a registrar needs an active certificate of this CA with the same subject and "
            + "subjectAltName, obtained through a registrar (RFC 7030 sections 3.7 and 4.2.2)"), null);
    }

    private static string? RegistrarOf(Requester requester) => requester.Trust == RequesterTrust.Registrar ? requester.Name : null;

    // Stable across sessions, so a device retrying after a pending answer in a new session is the same requester.
    private static string NameOf(X509Certificate2 leaf)
    {
        string subject = leaf.Subject.Length > 300 ? leaf.Subject[..300] : leaf.Subject;
        return $"{subject} sha256:{leaf.GetCertHashString(HashAlgorithmName.SHA256)}";
    }

    // The profile's own name (null selects the default), so that the request key does not depend on how the profile was named.
    private string? ProfileNameOf(string? name) => Authority.Profiles.TryGet(name, out CertificateProfile profile) ? profile.Name : name;

    [LoggerMessage(1, LogLevel.Debug, "Enrollment refused: {Operation} for {Requester}: {Reason} {Detail}")]
    private static partial void LogRefused(ILogger logger, string operation, string requester, RejectionReason reason, string detail);

    [LoggerMessage(2, LogLevel.Warning, "Profile {Profile} has NamePolicy AnyName: it issues any name a trusted requester asks for, so any device can obtain a "
        + "certificate naming any other (reserved names and names held by another requester excepted)")]
    private static partial void LogAnyName(ILogger logger, string profile);
}
