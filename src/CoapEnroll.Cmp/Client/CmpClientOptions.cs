using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>
/// How <see cref="CmpClient"/> protects requests and checks answers: MAC with a reference and a shared secret, or a signature with a
/// certificate that has its private key. Answers are accepted with a MAC under the same secret or a signature by a certificate that
/// chains to <see cref="TrustAnchors"/>.
/// </summary>
public sealed class CmpClientOptions
{
    /// <summary>The MAC reference (senderKID), with <see cref="SharedSecret"/>.</summary>
    public string? Reference { get; set; }

    /// <summary>The shared secret's bytes; null for signature protection.</summary>
    public byte[]? SharedSecret { get; set; }

    /// <summary>The MAC algorithm for requests; PasswordBasedMac by default.</summary>
    public CmpMacParameters MacParameters { get; set; } = CmpMacParameters.PasswordBasedMac();

    /// <summary>What MAC parameters an answer may use (openssl's mock server uses 500 iterations).</summary>
    public CmpMacPolicy AnswerMacPolicy { get; set; } = new() { MinIterations = 100 };

    /// <summary>The protection certificate with its private key, for signature protection.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Certificates sent after the protection certificate in extraCerts (its chain).</summary>
    public IList<X509Certificate2> ExtraCertificates { get; } = [];

    /// <summary>Trust anchors a signed answer's protection certificate must chain to.</summary>
    public X509Certificate2Collection TrustAnchors { get; } = [];

    /// <summary>The recipient (the CA's name); the NULL-DN when unknown.</summary>
    public X500DistinguishedName? Recipient { get; set; }

    /// <summary>Ask for implicit confirmation (RFC 9483 §4.1.1); certConf is still sent when the server does not grant it.</summary>
    public bool ImplicitConfirm { get; set; }

    /// <summary>
    /// Do not send certConf after an enrollment: the result's <see cref="CmpEnrollmentResult.PendingConfirmation"/> is confirmed or
    /// rejected later with <see cref="CmpClient.ConfirmAsync"/>, within the server's confirmWaitTime. Not with <see cref="ImplicitConfirm"/>.
    /// </summary>
    public bool DeferConfirmation { get; set; }

    /// <summary>
    /// How long one operation (an enrollment with its polls, a genm, an rr, a certConf) may take, counted from its start, before a
    /// wait that would pass it is not begun: the server's "waiting" (then <see cref="CmpException"/>) and its "busy, come back after …"
    /// answers, after which the same request is sent again (<see cref="CmpTransportException.RetryAfter"/>; then that exception).
    /// The certConf of an issued certificate gets this much again of its own.
    /// </summary>
    public TimeSpan MaxPollWait { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The wait after a "busy, come back after …" answer is lengthened by a random share of itself up to this (0 to 1; default 0.5),
    /// so that clients a server refused together do not all come back at the same moment. 0 waits exactly what the server said.
    /// </summary>
    public double BusyJitter { get; set; } = 0.5;

    /// <summary>Told each time the server makes us wait: the delay and the server's reason.</summary>
    public IProgress<CmpWaiting>? Waiting { get; set; }
}
