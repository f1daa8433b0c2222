using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment;

/// <summary>What an authenticated requester asks for, as a front end hands it to <see cref="EnrollmentService.AuthorizeAsync"/>.</summary>
public sealed class EnrollmentRequest
{
    /// <summary>Who asks (from <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, CancellationToken)"/>).</summary>
    public required Requester Requester { get; init; }

    /// <summary>What is asked for.</summary>
    public required EnrollmentOperation Operation { get; init; }

    /// <summary>
    /// The front end's name for the operation (EST resource "sen", "sren", "skg", "skc"; a CMP body type). Part of the request key,
    /// so the same request to two resources gets two answers, and the prefix of a stored refusal's reason ("/sen: ...").
    /// </summary>
    public required string OperationName { get; init; }

    /// <summary>The certificate profile (EST label, CMP profile path); null selects the default.</summary>
    public string? ProfileName { get; init; }

    /// <summary>The certification request, decoded once by the front end.</summary>
    public required CertificationRequest Request { get; init; }

    /// <summary>
    /// The requester's claim of the channel binding it signed (EST: the CSR's challengePassword, base64 of tls-unique, RFC 7030
    /// §3.5), or null when it makes none.
    /// </summary>
    public string? ChannelBindingClaim { get; init; }
}
