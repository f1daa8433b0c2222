using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Client;

/// <summary>
/// <c>coapenroll coap get|post|put|delete URI …</c>: one request (or an observation) for operators
/// debugging devices. Prints the response code, options and payload; exit codes are in <see cref="ExitCodes"/>.
/// </summary>
internal sealed class CoapRequestCommand
{
    private readonly CoapCode _method;
    private readonly Argument<string> _uri = new("URI") { Description = "coap://host[:port]/path[?query] or coaps://… (DTLS 1.2)" };
    private readonly Option<string?> _accept = new("--accept", "-A") { Description = "Accept option: a content format number or name (text, json, cbor, link, pkcs10, …)", HelpName = "CT" };
    private readonly Option<string?> _contentFormat = new("--content-format", "-t") { Description = "Content-Format of the payload: a number or name", HelpName = "CT" };
    private readonly Option<string?> _payload = new("--payload", "-e") { Description = "Payload text (sent as UTF-8)", HelpName = "TEXT" };
    private readonly Option<string?> _payloadFile = new("--payload-file", "-f") { Description = "Read the payload from a file ('-' for stdin)", HelpName = "FILE" };
    private readonly Option<int?> _blockSize = new("--block-size", "-b") { Description = "Block size for block-wise transfers: 16, 32, 64, 128, 256, 512 or 1024", HelpName = "SIZE" };
    private readonly Option<int?> _observe = new("--observe", "-s") { Description = "Observe the resource for this many seconds (GET only), printing each notification", HelpName = "SECONDS" };
    private readonly Option<string?> _out = new("--out", "-o") { Description = "Write the raw response payload to this file instead of printing it", HelpName = "FILE" };
    private readonly Option<bool> _confirmable = new("--confirmable", "--con") { Description = "Send a confirmable (CON) request (the default)" };
    private readonly Option<bool> _non = new("--non", "-N") { Description = "Send a non-confirmable (NON) request" };
    private readonly Option<double> _timeout = new("--timeout") { Description = "Give up when no response arrived after this many seconds", HelpName = "SECONDS", DefaultValueFactory = _ => 90 };
    private readonly Option<bool> _verbose = new("--verbose", "-v") { Description = "Also print the request as sent (to stderr)" };
    private readonly Option<string?> _trust = new("--trust") { Description = "coaps: PEM file of trust anchors that the server certificate must chain to (required unless PSK)", HelpName = "FILE" };
    private readonly Option<string?> _cert = new("--cert") { Description = "coaps: client certificate (PEM, leaf first, then intermediates), with --key", HelpName = "FILE" };
    private readonly Option<string?> _key = new("--key") { Description = "coaps: private key (PEM) of --cert", HelpName = "FILE" };
    private readonly Option<string?> _pskIdentity = new("--psk-identity") { Description = "coaps: PSK identity (RFC 7925 PSK profile), with --psk-key", HelpName = "ID" };
    private readonly Option<string?> _pskKey = new("--psk-key") { Description = "coaps: pre-shared key in hex", HelpName = "HEX" };
    private readonly Option<string?> _keyLog = new("--keylog") { Description = "coaps: append the session keys to this file (NSS key log format, for tshark/Wireshark)", HelpName = "FILE" };
    private readonly Option<string?> _extendedMasterSecret = SecureTarget.CreateExtendedMasterSecretOption();

    private CoapRequestCommand(CoapCode method) => _method = method;

    /// <summary>The <c>coap</c> command with one subcommand per method.</summary>
    public static Command Create()
    {
        var coap = new Command("coap", "Send a CoAP request and print the response (a debugging client like coap-client).");
        foreach (var method in new[] { CoapCode.Get, CoapCode.Post, CoapCode.Put, CoapCode.Delete })
        {
            coap.Subcommands.Add(new CoapRequestCommand(method).Build());
        }

        return coap;
    }

    private Command Build()
    {
        string name = _method.ToString().ToLowerInvariant();
        var command = new Command(name, $"Send a {_method} request.")
        {
            _uri, _accept, _contentFormat, _payload, _payloadFile, _blockSize, _observe, _out, _confirmable, _non, _timeout, _verbose,
            _trust, _cert, _key, _pskIdentity, _pskKey, _keyLog, _extendedMasterSecret,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, cancellationToken));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var stdout = parseResult.InvocationConfiguration.Output;
        var stderr = parseResult.InvocationConfiguration.Error;

        var (uri, request, blockSize, observeSeconds, outFile, timeout) = await PrepareAsync(parseResult, cancellationToken);
        DtlsClientOptions? dtls = await PrepareDtlsAsync(parseResult, uri, cancellationToken);

        IPEndPoint remote = await SecureTarget.ResolveAsync(uri, cancellationToken);

        var options = new CoapClientOptions { BlockSize = blockSize };
        options.Endpoint.ResponseTimeout = timeout;
        IDatagramChannel channel;
        EndPoint target;
        if (dtls is null)
        {
            channel = UdpDatagramChannel.ConnectTo(remote);
            target = remote;
        }
        else
        {
            var secure = await SecureTarget.ConnectAsync(remote, dtls, timeout, cancellationToken);
            channel = secure;
            target = secure.RemoteEndPoint;
            if (parseResult.GetValue(_verbose))
            {
                await stderr.WriteLineAsync($"* DTLS 1.2 session with {remote}: {secure.RemoteEndPoint.CipherSuite}"
                    + (secure.RemoteEndPoint.PeerCertificates is { Count: > 0 } chain ? $", server certificate '{chain[0].Subject}'" : string.Empty)
                    + (secure.RemoteEndPoint.IsExtendedMasterSecretNegotiated ? string.Empty : ", without extended_master_secret (RFC 7627)"));
            }
        }

        await using var client = new CoapClient(channel, options);
        request = request with { Token = client.Endpoint.NewToken() };
        if (parseResult.GetValue(_verbose))
        {
            await stderr.WriteLineAsync($"> {(request.Type == CoapMessageType.Confirmable ? "CON" : "NON")} {request.Code} to {remote}");
            foreach (var option in request.Options)
            {
                await stderr.WriteLineAsync($">   {ResponseFormatter.FormatOption(option)}");
            }

            if (!request.Payload.IsEmpty)
            {
                await stderr.WriteLineAsync($">   ({request.Payload.Length} bytes of payload)");
            }
        }

        return observeSeconds is { } seconds
            ? await ObserveAndPrintAsync(client, request, target, remote, TimeSpan.FromSeconds(seconds), timeout, outFile, stdout, stderr, cancellationToken)
            : await RequestAndPrintAsync(client, request, target, remote, timeout, outFile, stdout, cancellationToken);
    }

    /// <summary>
    /// The DTLS settings for a coaps:// URI, or null for coap://. The server certificate must chain to --trust and
    /// name the URI host (a DNS name or an IP address, RFC 6125); --cert/--key authenticate the client; --psk-identity
    /// and --psk-key offer TLS_PSK_WITH_AES_128_CCM_8 (alone when no --trust is given). Every problem is a usage error.
    /// </summary>
    private async Task<DtlsClientOptions?> PrepareDtlsAsync(ParseResult parseResult, CoapUri uri, CancellationToken cancellationToken)
    {
        string? trust = parseResult.GetValue(_trust);
        string? cert = parseResult.GetValue(_cert);
        string? key = parseResult.GetValue(_key);
        string? pskIdentity = parseResult.GetValue(_pskIdentity);
        string? pskKey = parseResult.GetValue(_pskKey);
        string? keyLog = parseResult.GetValue(_keyLog);
        string? extendedMasterSecret = parseResult.GetValue(_extendedMasterSecret);
        if (!uri.IsSecure)
        {
            string? given = (trust, cert, key, pskIdentity, pskKey, keyLog) switch
            {
                ({ }, _, _, _, _, _) => "--trust",
                (_, { }, _, _, _, _) => "--cert",
                (_, _, { }, _, _, _) => "--key",
                (_, _, _, { }, _, _) => "--psk-identity",
                (_, _, _, _, { }, _) => "--psk-key",
                (_, _, _, _, _, { }) => "--keylog",
                _ => extendedMasterSecret is null ? null : "--extended-master-secret",
            };
            return given is null ? null : throw new CliException(ExitCodes.Usage, $"{given} applies to coaps:// URIs only: {uri}.");
        }

        if ((cert is null) != (key is null))
        {
            throw new CliException(ExitCodes.Usage, "--cert and --key go together: give both or neither.");
        }

        if ((pskIdentity is null) != (pskKey is null))
        {
            throw new CliException(ExitCodes.Usage, "--psk-identity and --psk-key go together: give both or neither.");
        }

        bool psk = pskIdentity is not null;
        if (trust is null && !psk)
        {
            throw new CliException(ExitCodes.Usage, $"coaps:// needs --trust FILE (the PEM trust anchor(s) of the server, e.g. DIR/trust-anchor.pem of coapenroll serve) or --psk-identity/--psk-key: {uri}.");
        }

        if (cert is not null && trust is null)
        {
            throw new CliException(ExitCodes.Usage, "--cert needs --trust FILE to authenticate the server.");
        }

        var options = new DtlsClientOptions
        {
            // RFC 6125: the server certificate must carry the URI host, as a dNSName or an iPAddress SAN.
            ServerName = uri.HostAddress is null ? uri.Host : null,
            KeyLogFile = keyLog is null ? null : Path.GetFullPath(keyLog),
            ExtendedMasterSecret = SecureTarget.ParseExtendedMasterSecret(extendedMasterSecret),
        };
        await SecureTarget.LoadCredentialsAsync(options, trust, cert, key, null, null, cancellationToken);

        if (psk)
        {
            options.PskIdentity = Encoding.UTF8.GetBytes(pskIdentity!);
            options.PskKey = Hosting.DtlsListenOptions.TryParseHexKey(pskKey)
                ?? throw new CliException(ExitCodes.Usage, $"--psk-key: not a key in hex (an even number of 0-9a-f digits, optionally 0x-prefixed).");
            if (trust is null)
            {
                options.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
            }
        }

        return options;
    }

    /// <summary>The DTLS handshake; a failure is one line naming the alert and exits with <see cref="ExitCodes.NoResponse"/>.</summary>
    /// <summary>"unknown_ca (…why we sent it)", "handshake_failure (alert from the server)", or the reason when no alert was involved.</summary>
    internal static string DescribeHandshakeFailure(DtlsHandshakeException ex)
    {
        if (ex.Alert is not { } alert)
        {
            return ex.Message;
        }

        string name = AlertName(alert);
        if (ex.ReceivedFromPeer)
        {
            return $"{name} (alert from the server)";
        }

        // Our own alerts carry the reason after "(Alert): ".
        int reason = ex.Message.IndexOf("): ", StringComparison.Ordinal);
        return reason < 0 ? name : $"{name} ({ex.Message[(reason + 3)..].TrimEnd('.')})";
    }

    /// <summary>The RFC 5246 §7.2 spelling of an alert: UnknownCa → unknown_ca.</summary>
    internal static string AlertName(AlertDescription alert)
    {
        string text = alert.ToString();
        var name = new StringBuilder(text.Length + 4);
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsUpper(text[i]) && i > 0)
            {
                name.Append('_');
            }

            name.Append(char.ToLowerInvariant(text[i]));
        }

        return name.ToString();
    }

    /// <summary>Validates every input before anything goes on the wire; each problem is a usage error.</summary>
    private async Task<(CoapUri Uri, CoapMessage Request, int? BlockSize, int? ObserveSeconds, string? Out, TimeSpan Timeout)> PrepareAsync(
        ParseResult parseResult, CancellationToken cancellationToken)
    {
        CoapUri uri;
        try
        {
            uri = CoapUri.Parse(parseResult.GetRequiredValue(_uri));
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message, ex);
        }

        if (parseResult.GetValue(_confirmable) && parseResult.GetValue(_non))
        {
            throw new CliException(ExitCodes.Usage, "--confirmable and --non exclude each other.");
        }

        string? payloadText = parseResult.GetValue(_payload);
        string? payloadFile = parseResult.GetValue(_payloadFile);
        if (payloadText is not null && payloadFile is not null)
        {
            throw new CliException(ExitCodes.Usage, "--payload and --payload-file exclude each other.");
        }

        int? blockSize = parseResult.GetValue(_blockSize);
        if (blockSize is { } size && (size < 16 || size > 1024 || (size & (size - 1)) != 0))
        {
            throw new CliException(ExitCodes.Usage, $"--block-size {size} is not one of 16, 32, 64, 128, 256, 512, 1024.");
        }

        int? observe = parseResult.GetValue(_observe);
        if (observe is { } seconds)
        {
            if (_method != CoapCode.Get)
            {
                throw new CliException(ExitCodes.Usage, "--observe works with get only.");
            }

            if (seconds <= 0)
            {
                throw new CliException(ExitCodes.Usage, $"--observe {seconds}: the duration must be a positive number of seconds.");
            }
        }

        double timeoutSeconds = parseResult.GetValue(_timeout);
        if (!(timeoutSeconds > 0) || timeoutSeconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            throw new CliException(ExitCodes.Usage, $"--timeout {timeoutSeconds.ToString(CultureInfo.InvariantCulture)}: must be a positive number of seconds.");
        }

        var type = parseResult.GetValue(_non) ? CoapMessageType.NonConfirmable : CoapMessageType.Confirmable;
        var request = uri.ApplyTo(CoapMessage.CreateRequest(_method, type: type));

        if (parseResult.GetValue(_accept) is { } acceptText)
        {
            request = request.WithAccept(ParseContentFormat("--accept", acceptText));
        }

        if (parseResult.GetValue(_contentFormat) is { } ctText)
        {
            request = request.WithContentFormat(ParseContentFormat("--content-format", ctText));
        }

        if (payloadText is not null)
        {
            request = request.WithPayload(payloadText);
        }
        else if (payloadFile is not null)
        {
            request = request.WithPayload(await ReadPayloadFileAsync(payloadFile, cancellationToken));
        }

        if (observe is not null)
        {
            request = request.SetUInt(CoapOptionNumber.Observe, 0);
        }

        return (uri, request, blockSize, observe, parseResult.GetValue(_out), TimeSpan.FromSeconds(timeoutSeconds));
    }

    private static int ParseContentFormat(string option, string text) => ContentFormats.TryParse(text, out int ct)
        ? ct
        : throw new CliException(ExitCodes.Usage, $"{option} '{text}' is not a content format: use a number 0..65535 or one of {ContentFormats.AcceptedNames}.");

    private static async Task<byte[]> ReadPayloadFileAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            if (file == "-")
            {
                using var stdin = Console.OpenStandardInput();
                using var buffer = new MemoryStream();
                await stdin.CopyToAsync(buffer, cancellationToken);
                return buffer.ToArray();
            }

            return await File.ReadAllBytesAsync(file, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot read --payload-file '{file}': {ex.Message}", ex);
        }
    }

    private static async Task<int> RequestAndPrintAsync(CoapClient client, CoapMessage request, EndPoint target, IPEndPoint remote, TimeSpan timeout,
        string? outFile, TextWriter stdout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        CoapMessage response;
        try
        {
            response = await client.SendAsync(request, target, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NoResponse(target, remote, $"no response within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (CoapProtocolException ex)
        {
            throw Failed(target, remote, ex);
        }

        await PrintAsync(response, outFile, stdout, cancellationToken);
        return ExitCodeFor(response.Code);
    }

    private static async Task<int> ObserveAndPrintAsync(CoapClient client, CoapMessage request, EndPoint target, IPEndPoint remote, TimeSpan duration, TimeSpan timeout,
        string? outFile, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        CoapMessage? last = null;
        using var observing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        observing.CancelAfter(duration);
        using var firstResponse = CancellationTokenSource.CreateLinkedTokenSource(observing.Token);
        firstResponse.CancelAfter(timeout);
        try
        {
            await foreach (var notification in client.ObserveAsync(request, target, firstResponse.Token))
            {
                firstResponse.CancelAfter(Timeout.InfiniteTimeSpan);
                if (last is not null)
                {
                    await stdout.WriteLineAsync();
                }

                last = notification;
                await PrintAsync(notification, outFile, stdout, cancellationToken);
                await stdout.FlushAsync(cancellationToken);
                if (!notification.Code.IsSuccess || notification.Observe is null)
                {
                    if (notification.Code.IsSuccess)
                    {
                        await stderr.WriteLineAsync("The server did not accept the observation (no Observe option in the response).");
                    }

                    break;
                }
            }
        }
        catch (OperationCanceledException) when (observing.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            // The duration elapsed or Ctrl-C: a normal end of observing.
        }
        catch (OperationCanceledException) when (last is null)
        {
            throw NoResponse(target, remote, $"no response within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (CoapProtocolException ex)
        {
            if (last is null)
            {
                throw Failed(target, remote, ex);
            }

            await stderr.WriteLineAsync($"Observation ended: {ex.Message}");
        }

        if (last is null)
        {
            throw cancellationToken.IsCancellationRequested
                ? new CliException(ExitCodes.Interrupted, "Interrupted before a response arrived.")
                : NoResponse(target, remote, $"no notification within {duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }

        return ExitCodeFor(last.Code);
    }

    private static async Task PrintAsync(CoapMessage response, string? outFile, TextWriter stdout, CancellationToken cancellationToken)
    {
        ResponseFormatter.WriteHead(stdout, response);
        if (outFile is null)
        {
            ResponseFormatter.WritePayload(stdout, response);
            return;
        }

        try
        {
            await File.WriteAllBytesAsync(outFile, response.Payload.ToArray(), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"Cannot write --out '{outFile}': {ex.Message}", ex);
        }

        await stdout.WriteLineAsync($"({response.Payload.Length} bytes of payload written to {outFile})");
    }

    /// <summary>0 for 2.xx, 4 for 4.xx, 5 for 5.xx (see <see cref="ExitCodes"/>).</summary>
    public static int ExitCodeFor(CoapCode code) => code.Class switch
    {
        2 => ExitCodes.Success,
        4 => ExitCodes.ClientError,
        5 => ExitCodes.ServerError,
        _ => ExitCodes.Failure,
    };

    private static CliException NoResponse(EndPoint target, EndPoint remote, string reason) => new(ExitCodes.NoResponse, $"No response from {remote}: {reason}. {HintFor(target)}");

    // Over coaps the handshake has already succeeded by the time a request goes unanswered: the server is there.
    private static string HintFor(EndPoint target) => target is DtlsSessionEndPoint ? SecureTarget.NoAnswerAfterHandshakeHint : SecureTarget.NoAnswerHint;

    private static CliException Failed(EndPoint target, EndPoint remote, CoapProtocolException ex) => ex.Error switch
    {
        CoapError.Reset => new CliException(ExitCodes.NoResponse, $"{remote} answered with Reset (it rejected the request).", ex),
        CoapError.Timeout => new CliException(ExitCodes.NoResponse, $"No response from {remote}: {ex.Message} {HintFor(target)}", ex),
        CoapError.Unreachable => new CliException(ExitCodes.NoResponse, $"{ex.Message}: is the server running, and on this port?", ex),
        _ => new CliException(ExitCodes.NoResponse, $"Request to {remote} failed: {ex.Message}", ex),
    };
}
