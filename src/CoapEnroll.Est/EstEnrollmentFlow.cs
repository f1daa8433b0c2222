using System.Security.Cryptography;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Pkix;

namespace CoapEnroll.Est;

/// <summary>
/// What EST-coaps and EST over HTTPS do alike once a requester is authenticated and its CSR is in hand (DER): parse it with the EST
/// attributes, have the <see cref="EnrollmentService"/> authorize it (recording every refusal), settle how a server-generated key is
/// delivered before anything is issued, issue or hold it for approval, and export the generated key. The transports keep only what
/// differs: routing, media types or Content-Formats, and the codes of <see cref="EstFailure"/>.
/// </summary>
internal sealed class EstEnrollmentFlow
{
    private readonly EstServerOptions _options;
    private readonly EnrollmentService _enrollment;
    private readonly EstServerKeyDelivery _keyDelivery;

    public EstEnrollmentFlow(EstServerOptions options, EnrollmentService enrollment, TimeProvider time)
    {
        _options = options;
        _enrollment = enrollment;
        _keyDelivery = new EstServerKeyDelivery(options, enrollment, time);

        // RFC 7030 §4.1.3: the current root and every certificate needed to chain an issued certificate to it.
        CaCertsOnly = Pkcs7CertsOnly.Encode(enrollment.Authority.CaCertificates);
    }

    /// <summary>The /cacerts (/crts) answer: a certs-only SignedData with the CA certificates (DER).</summary>
    public byte[] CaCertsOnly { get; }

    public EnrollmentService Enrollment => _enrollment;

    /// <summary>The /csrattrs (/att) answer (DER): the configured items, with the challengePassword OID when linking is required.</summary>
    public byte[] EncodeCsrAttributes()
    {
        IReadOnlyList<EstCsrAttribute> items = _options.CsrAttributes ?? EstCsrAttributes.Default;
        if (_options.RequirePopLinking && !items.Any(i => i.Oid == EstOids.ChallengePassword))
        {
            // RFC 8951 §4: a server requiring POP linking MUST include the challengePassword OID.
            items = [new EstCsrAttribute(EstOids.ChallengePassword), .. items];
        }

        return EstCsrAttributes.Encode(items);
    }

    /// <summary>The profile an EST label names (RFC 7030 §3.2.2, RFC 9148 §4.1); false for an unknown one (404 / 4.04).</summary>
    public bool TryGetProfile(string? label, out CertificateProfile profile) => _enrollment.Authority.Profiles.TryGet(label, out profile);

    /// <summary>
    /// Enrolls, re-enrolls or generates a key for <paramref name="client"/> from the CSR <paramref name="csrDer"/> (at most
    /// <see cref="IssuanceRequest.MaxCsrLength"/> bytes: the transport refuses a longer one before it is read).
    /// </summary>
    public async Task<EstEnrollResult> EnrollAsync(Requester client, CertificateProfile profile, EnrollmentOperation kind, string operationName,
        ReadOnlyMemory<byte> csrDer, CancellationToken cancellationToken)
    {
        // From here on the client is authenticated and its CSR is in hand: every refusal is recorded in the CA store as a rejected
        // request (who asked, over which protocol, the CSR, why) before it is answered.
        EstCsr? csr = EstCsr.TryParse(csrDer, out string? problem);
        if (csr is null)
        {
            return Refused(await _enrollment.RefuseAsync(client, kind, operationName, profile.Name, csrDer.ToArray(),
                RejectionReason.MalformedRequest, problem!, cancellationToken));
        }

        EnrollmentAuthorization authorization = await _enrollment.AuthorizeAsync(new EnrollmentRequest
        {
            Requester = client,
            Operation = kind,
            OperationName = operationName,
            ProfileName = profile.Name,
            Request = csr.Request,
            ChannelBindingClaim = csr.ChallengePassword,
        }, cancellationToken);
        if (authorization.Refusal is { } refused)
        {
            return Refused(refused);
        }

        // Server-side key generation with an encrypted key (RFC 7030 §4.4.1.1, §4.4.1.2): settle the recipient before issuing.
        bool keyGen = kind == EnrollmentOperation.ServerKeyGeneration;
        EstServerKeyDelivery.Plan? delivery = null;
        if (keyGen)
        {
            (delivery, problem) = await _keyDelivery.PlanAsync(csr, client, cancellationToken);
            if (delivery is null)
            {
                return Refused(await _enrollment.RefuseAsync(authorization, RejectionReason.UnsatisfiableRequest, problem!, cancellationToken));
            }
        }

        using EnrollmentOutcome outcome = await _enrollment.IssueAsync(authorization, cancellationToken);
        switch (outcome.Status)
        {
            case EnrollmentStatus.Pending:
                return new EstEnrollResult
                {
                    Status = EnrollmentStatus.Pending,
                    RequestId = outcome.RequestId,
                    RetryAfterSeconds = (uint)Math.Ceiling(outcome.RetryAfter.TotalSeconds),
                };
            case EnrollmentStatus.Refused:
                return Refused(outcome);
        }

        EstServerGeneratedKey? key = null;
        if (keyGen)
        {
            byte[] pkcs8 = outcome.GeneratedKey!.ExportPkcs8PrivateKey();
            try
            {
                key = _keyDelivery.CreateKey(delivery!, csr, pkcs8);
            }
            finally
            {
                if (key is not { Encrypted: false })
                {
                    CryptographicOperations.ZeroMemory(pkcs8);
                }
            }
        }

        return new EstEnrollResult { Status = EnrollmentStatus.Issued, Certificate = outcome.IssuedCertificate, Key = key, Repeated = outcome.Repeated };
    }

    // Every reason is listed, so a new one is placed here on purpose; unnamed values fall back to a bad request.
    public static EstFailure FailureFor(RejectionReason reason) => reason switch
    {
        RejectionReason.SubjectNotAllowed or RejectionReason.SubjectAltNameNotAllowed or RejectionReason.RejectedByOperator
            or RejectionReason.NotAuthorized or RejectionReason.ReservedName or RejectionReason.NameNotBoundToRequester
            or RejectionReason.NameHeldByAnotherRequester or RejectionReason.CertificateNoLongerActive => EstFailure.Forbidden,
        RejectionReason.UnknownProfile => EstFailure.NotFound,
        RejectionReason.TooManyPendingRequests => EstFailure.ServiceUnavailable,
        RejectionReason.None or RejectionReason.MalformedRequest or RejectionReason.BadSignature or RejectionReason.UnsupportedKeyType
            or RejectionReason.KeyTooWeak or RejectionReason.KeyNotAllowed or RejectionReason.RequestKeyConflict or RejectionReason.InvalidParameter
            or RejectionReason.UnsatisfiableRequest or RejectionReason.UnsupportedAlgorithm => EstFailure.BadRequest,
        _ => EstFailure.BadRequest,
    };

    private static EstEnrollResult Refused(EnrollmentOutcome refusal) => new()
    {
        Status = EnrollmentStatus.Refused,
        Failure = FailureFor(refusal.Reason),
        Detail = refusal.Detail ?? refusal.Reason.ToString(),
        RetryAfterSeconds = (uint)Math.Ceiling(refusal.RetryAfter.TotalSeconds),
    };
}
