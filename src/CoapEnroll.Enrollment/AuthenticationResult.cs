namespace CoapEnroll.Enrollment;

/// <summary>The outcome of <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, CancellationToken)"/>: the requester, or why there is none.</summary>
public sealed class AuthenticationResult
{
    private AuthenticationResult(Requester? requester, AuthenticationFailure failure, string name, string? detail)
    {
        Requester = requester;
        Failure = failure;
        Name = name;
        Detail = detail;
    }

    /// <summary>The authenticated requester; null when <see cref="Failure"/> says why not.</summary>
    public Requester? Requester { get; }

    /// <summary>Why the peer is not authenticated; <see cref="AuthenticationFailure.None"/> when it is.</summary>
    public AuthenticationFailure Failure { get; }

    /// <summary>
    /// Who it is for the logs: the requester name, the presented certificate's when it is not trusted, "PSK identity X" (X escaped by
    /// <see cref="Ca.PrintableText"/>) for a PSK session without a certificate, or "anonymous".
    /// </summary>
    public string Name { get; }

    /// <summary>Human-readable text of the failure, safe to show to the peer.</summary>
    public string? Detail { get; }

    internal static AuthenticationResult Authenticated(Requester requester) => new(requester, AuthenticationFailure.None, requester.Name, null);

    internal static AuthenticationResult Failed(AuthenticationFailure failure, string name, string detail) => new(null, failure, name, detail);
}
