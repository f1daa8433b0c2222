using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Client;

/// <summary>
/// <c>coapenroll coap get|post|put|delete URI …</c>: one request (or an observation) for operators
/// debugging devices. Prints the response code, options and payload; exit codes are in <see cref="ExitCodes"/>.
/// </summary>
internal sealed class CoapRequestCommand
{
    private readonly CoapCode _method;
    private readonly Argument<string> _uri = new("URI") { Description = "coap://host[:port]/path[?query]" };
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
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, cancellationToken));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var stdout = parseResult.InvocationConfiguration.Output;
        var stderr = parseResult.InvocationConfiguration.Error;

        var (uri, request, blockSize, observeSeconds, outFile, timeout) = await PrepareAsync(parseResult, cancellationToken);

        IPEndPoint remote;
        try
        {
            remote = await uri.ResolveAsync(cancellationToken);
        }
        catch (CoapProtocolException ex)
        {
            throw new CliException(ExitCodes.NoResponse, ex.Message, ex);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CliException(ExitCodes.NoResponse, $"Cannot resolve host '{uri.Host}': {ex.Message}.", ex);
        }

        var options = new CoapClientOptions { BlockSize = blockSize };
        options.Endpoint.ResponseTimeout = timeout;
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote), options);
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
            ? await ObserveAndPrintAsync(client, request, remote, TimeSpan.FromSeconds(seconds), timeout, outFile, stdout, stderr, cancellationToken)
            : await RequestAndPrintAsync(client, request, remote, timeout, outFile, stdout, cancellationToken);
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

        if (uri.IsSecure)
        {
            throw new CliException(ExitCodes.Usage, $"coaps:// (DTLS) is not supported by this client yet: {uri}.");
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

    private static async Task<int> RequestAndPrintAsync(CoapClient client, CoapMessage request, IPEndPoint remote, TimeSpan timeout,
        string? outFile, TextWriter stdout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        CoapMessage response;
        try
        {
            response = await client.SendAsync(request, remote, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NoResponse(remote, $"no response within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (CoapProtocolException ex)
        {
            throw Failed(remote, ex);
        }

        await PrintAsync(response, outFile, stdout, cancellationToken);
        return ExitCodeFor(response.Code);
    }

    private static async Task<int> ObserveAndPrintAsync(CoapClient client, CoapMessage request, IPEndPoint remote, TimeSpan duration, TimeSpan timeout,
        string? outFile, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        CoapMessage? last = null;
        using var observing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        observing.CancelAfter(duration);
        using var firstResponse = CancellationTokenSource.CreateLinkedTokenSource(observing.Token);
        firstResponse.CancelAfter(timeout);
        try
        {
            await foreach (var notification in client.ObserveAsync(request, remote, firstResponse.Token))
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
            throw NoResponse(remote, $"no response within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (CoapProtocolException ex)
        {
            if (last is null)
            {
                throw Failed(remote, ex);
            }

            await stderr.WriteLineAsync($"Observation ended: {ex.Message}");
        }

        if (last is null)
        {
            throw cancellationToken.IsCancellationRequested
                ? new CliException(ExitCodes.Interrupted, "Interrupted before a response arrived.")
                : NoResponse(remote, $"no notification within {duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
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

    private static CliException NoResponse(EndPoint remote, string reason) => new(ExitCodes.NoResponse, $"No response from {remote}: {reason}.");

    private static CliException Failed(EndPoint remote, CoapProtocolException ex) => ex.Error switch
    {
        CoapError.Reset => new CliException(ExitCodes.NoResponse, $"{remote} answered with Reset (it rejected the request).", ex),
        CoapError.Timeout => new CliException(ExitCodes.NoResponse, $"No response from {remote}: {ex.Message}", ex),
        _ => new CliException(ExitCodes.NoResponse, $"Request to {remote} failed: {ex.Message}", ex),
    };
}
