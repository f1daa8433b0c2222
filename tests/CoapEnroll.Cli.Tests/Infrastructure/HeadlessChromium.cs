using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// Debian's <c>chromium</c>, headless, driven over the Chrome DevTools Protocol on a WebSocket (no Playwright: it cannot download
/// its browsers here). It runs with a fresh profile, as root without the sandbox, and trusts exactly one server key
/// (<c>--ignore-certificate-errors-spki-list</c>, the pin of the test server's certificate) instead of ignoring certificate errors.
/// Pages are driven the way a user does: values typed into inputs and buttons clicked, the browser submitting the forms itself.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _calls = new();
    private readonly Channel<string> _events = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly StringBuilder _log;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket, StringBuilder log)
    {
        _log = log;
        _process = process;
        _profile = profile;
        _socket = socket;
        _reader = ReadAsync(_stop.Token);
    }

    /// <summary>What chromium wrote to stderr, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts chromium with a page on about:blank and connects to that page.</summary>
    /// <param name="serverKeyPin">base64 SHA-256 of the SubjectPublicKeyInfo of the one server certificate to accept.</param>
    public static async Task<HeadlessChromium> StartAsync(string serverKeyPin, CancellationToken cancellationToken)
    {
        string executable = RequiredTool.Find("chromium", "chromium");
        string profile = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}",
            $"--ignore-certificate-errors-spki-list={serverKeyPin}", "about:blank"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var log = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                if (log.Length < 64 * 1024)
                {
                    log.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            // Chromium writes the port it bound (port 0) and the browser's path into the profile.
            string portFile = Path.Combine(profile, "DevToolsActivePort");
            while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 2)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"chromium exited with {process.ExitCode}: {log}");
                }

                await Task.Delay(100, cancellationToken);
            }

            int port = int.Parse(File.ReadAllLines(portFile)[0], NumberStyles.None, CultureInfo.InvariantCulture);
            using var http = new HttpClient();
            JsonArray targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list"), cancellationToken))!.AsArray();
            string page = targets.Select(t => t!.AsObject()).First(t => (string?)t["type"] == "page")["webSocketDebuggerUrl"]!.GetValue<string>();
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await socket.ConnectAsync(new Uri(page), cancellationToken);
            var browser = new HeadlessChromium(process, profile, socket, log);
            await browser.CallAsync("Page.enable", new JsonObject(), cancellationToken);
            return browser;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Loads <paramref name="url"/> and waits for its load event.</summary>
    public async Task NavigateAsync(string url, CancellationToken cancellationToken)
    {
        DrainEvents();
        await CallAsync("Page.navigate", new JsonObject { ["url"] = url }, cancellationToken);
        await WaitForLoadAsync(cancellationToken);
    }

    /// <summary>Types <paramref name="text"/> into the input <paramref name="selector"/> names.</summary>
    public async Task TypeAsync(string selector, string text, CancellationToken cancellationToken)
    {
        await EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).focus()", cancellationToken);
        await CallAsync("Input.insertText", new JsonObject { ["text"] = text }, cancellationToken);
    }

    /// <summary>Clicks the element <paramref name="selector"/> names (a submit button: the browser submits its form) and waits for the next page.</summary>
    public async Task ClickAndWaitForPageAsync(string selector, CancellationToken cancellationToken)
    {
        DrainEvents();
        string found = await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); if (!e) return 'missing'; e.click(); return 'clicked'; }})()",
            cancellationToken);
        Assert.True(found == "clicked", $"no element {selector} on the page: {await TextAsync(cancellationToken)}");
        await WaitForLoadAsync(cancellationToken);
    }

    /// <summary>The page's visible text.</summary>
    public Task<string> TextAsync(CancellationToken cancellationToken) => EvaluateAsync("document.body ? document.body.innerText : ''", cancellationToken);

    /// <summary>The result of <paramref name="expression"/> in the page, as a string.</summary>
    public async Task<string> EvaluateAsync(string expression, CancellationToken cancellationToken)
    {
        JsonObject result = await CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true }, cancellationToken);
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"{expression}: {exception.ToJsonString()}");
        }

        return result["result"]?["value"]?.ToString() ?? "";
    }

    private async Task WaitForLoadAsync(CancellationToken cancellationToken)
    {
        while (await _events.Reader.ReadAsync(cancellationToken) != "Page.loadEventFired")
        {
        }
    }

    private void DrainEvents()
    {
        while (_events.Reader.TryRead(out _))
        {
        }
    }

    private async Task<JsonObject> CallAsync(string method, JsonObject parameters, CancellationToken cancellationToken)
    {
        int id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = answer;
        byte[] message = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString());
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        JsonObject reply = await answer.Task.WaitAsync(cancellationToken);
        if (reply["error"] is { } error)
        {
            throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        }

        return reply["result"]?.AsObject() ?? [];
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                ValueWebSocketReceiveResult received = await _socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                JsonObject json = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                if (json["id"] is { } id && _calls.TryRemove(id.GetValue<int>(), out TaskCompletionSource<JsonObject>? call))
                {
                    call.TrySetResult(json);
                }
                else if (json["method"] is { } method)
                {
                    _events.Writer.TryWrite(method.GetValue<string>());
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            foreach (TaskCompletionSource<JsonObject> call in _calls.Values)
            {
                call.TrySetException(new InvalidOperationException("the DevTools connection closed"));
            }

            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reader;
        }
        finally
        {
            _socket.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _stop.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
