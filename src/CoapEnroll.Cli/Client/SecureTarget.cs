using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Client;

/// <summary>
/// What the <c>coap</c> and <c>est</c> commands share to reach a server: resolving the URI host, loading
/// DTLS client credentials from PEM files, and the handshake, each failure turned into a one-line
/// <see cref="CliException"/> with the right exit code.
/// </summary>
internal static class SecureTarget
{
    /// <summary>
    /// <c>--extended-master-secret required|optional</c>, shared by the coaps client commands: whether a server that does not
    /// negotiate RFC 7627's extended_master_secret fails the handshake (required, the default) or is admitted (optional).
    /// </summary>
    public static Option<string?> CreateExtendedMasterSecretOption()
    {
        var option = new Option<string?>("--extended-master-secret")
        {
            Description = "coaps: 'required' (default) fails the handshake with a server that does not negotiate extended_master_secret "
                + "(RFC 7627); 'optional' admits such a legacy server (its session then has no usable tls-unique)",
            HelpName = "required|optional",
        };
        option.AcceptOnlyFromAmong("required", "optional");
        return option;
    }

    /// <summary>The policy for a value of <see cref="CreateExtendedMasterSecretOption"/> (null: the default, required).</summary>
    public static ExtendedMasterSecretPolicy ParseExtendedMasterSecret(string? value) =>
        value == "optional" ? ExtendedMasterSecretPolicy.Optional : ExtendedMasterSecretPolicy.Required;

    /// <summary>What to check when nothing answers at all (a closed port fails at once with "nothing listens on", not with this).</summary>
    public const string NoAnswerHint = "Check that the server is running and reachable on that address and port, that no firewall drops UDP, "
        + "and that the scheme matches the port (coap:// is plain UDP, by default on 5683; coaps:// is DTLS, by default on 5684).";

    /// <summary>
    /// What to check when the DTLS handshake completed but a request got no answer: the server is up and on that port, so the
    /// request itself went unanswered.
    /// </summary>
    public const string NoAnswerAfterHandshakeHint = "The DTLS handshake succeeded, so a server runs on that port: check that the URI's path "
        + "names a resource it serves (GET /.well-known/core lists them), that the server's log shows the request (a server drops what it "
        + "cannot handle, e.g. when overloaded, and a registrar or proxy waits on its upstream CA), and give --timeout more seconds if it needs longer.";

    /// <summary>
    /// Bounds the retransmissions of a confirmable request by the command's <c>--timeout</c>: RFC 7252's defaults retransmit for up
    /// to MAX_TRANSMIT_WAIT (93 s) before giving up, whatever the command was told. Fewer retransmissions first; below one
    /// (a timeout under 3 s) a shorter ACK_TIMEOUT. The wait for a response after the acknowledgement is ResponseTimeout's.
    /// </summary>
    public static void BoundRetransmissions(CoapEndpointOptions endpoint, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        while (endpoint.MaxRetransmit > 0 && endpoint.MaxTransmitWait > timeout)
        {
            endpoint.MaxRetransmit--;
        }

        if (endpoint.MaxTransmitWait > timeout)
        {
            endpoint.AckTimeout = timeout / endpoint.AckRandomFactor;
        }
    }

    public static async Task<IPEndPoint> ResolveAsync(CoapUri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await uri.ResolveAsync(cancellationToken);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.NoResponse, ex.Message, ex);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"Cannot resolve host '{uri.Host}': {ex.Message}.", ex);
        }
    }

    /// <summary>
    /// Adds the server trust anchors and, when given, the client certificate (ECDSA only) with its chain. <c>passphraseOption</c> is
    /// the command's option that supplies the passphrase of an encrypted key (named when one is needed); null when it takes unencrypted keys only.
    /// </summary>
    public static async Task LoadCredentialsAsync(DtlsClientOptions options, string? trust, string? cert, string? key, string? passphrase,
        string? passphraseOption, CancellationToken cancellationToken)
    {
        try
        {
            if (trust is not null)
            {
                options.ServerCertificateTrustAnchors.AddRange((await PemCredentialFiles.LoadCertificatesAsync(trust, cancellationToken)).ToArray());
            }

            if (cert is not null)
            {
                var (certificate, chain) = await PemCredentialFiles.LoadCertificateWithKeyAsync(cert, key!, passphrase, cancellationToken);
                if (certificate.GetECDsaPublicKey() is null)
                {
                    throw new CliException(ExitCodes.Usage, $"--cert '{cert}': DTLS client certificates need an ECDSA (P-256 or P-384) key.");
                }

                options.ClientCertificate = certificate;
                options.ClientCertificateChain.AddRange(chain.ToArray());
            }
        }
        catch (CredentialFileException ex)
        {
            throw CredentialFailure(ex, passphraseOption);
        }
    }

    /// <summary>
    /// The one-line usage error for a certificate or key file that cannot be loaded. <paramref name="passphraseOption"/> is the
    /// command's option that supplies the passphrase of an encrypted key; null when the command takes unencrypted keys only.
    /// </summary>
    public static CliException CredentialFailure(CredentialFileException ex, string? passphraseOption)
    {
        if (ex.Problem != CredentialFileProblem.PassphraseMissing)
        {
            return new CliException(ExitCodes.Usage, ex.Message, ex);
        }

        // A client command has its own way of naming the passphrase.
        string how = passphraseOption is null
            ? "this command takes unencrypted keys only"
            : $"give the name of the environment variable holding its passphrase with {passphraseOption} NAME";
        return new CliException(ExitCodes.Usage, $"{ex.FilePath}: the key is encrypted; {how}.", ex);
    }

    public static async Task<DtlsClientChannel> ConnectAsync(IPEndPoint remote, DtlsClientOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await DtlsClientChannel.ConnectAsync(remote, options, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // RFC 6347 §4.1.2.7: a server drops records it cannot authenticate, so a wrong PSK looks like silence.
            string hint = options.PskKey is not null ? " (a wrong --psk-key looks like this: the server silently drops what it cannot decrypt)" : string.Empty;
            throw new CliException(ExitCodes.NoResponse,
                $"DTLS handshake with {remote} failed: no answer within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s{hint}. {NoAnswerHint}");
        }
        catch (RemoteUnreachableException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"DTLS handshake with {remote} failed: {ex.Message}: is the server running, and is this its coaps port?", ex);
        }
        catch (DtlsHandshakeException ex)
        {
            // Our own handshake_failure for a server without extended_master_secret: say how to admit it.
            string hint = ex is { Alert: AlertDescription.HandshakeFailure, ReceivedFromPeer: false }
                && options.ExtendedMasterSecret == ExtendedMasterSecretPolicy.Required && ex.Message.Contains("extended_master_secret", StringComparison.Ordinal)
                ? "; --extended-master-secret optional admits such a legacy server"
                : string.Empty;
            throw new CliException(ExitCodes.NoResponse, $"DTLS handshake with {remote} failed: {CoapRequestCommand.DescribeHandshakeFailure(ex)}{hint}", ex);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"DTLS handshake with {remote} failed: {ex.Message}.", ex);
        }
    }
}
