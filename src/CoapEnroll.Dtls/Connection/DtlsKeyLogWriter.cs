using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls;

/// <summary>Appends NSS key log lines (opt-in, see <see cref="DtlsOptions.KeyLogFile"/>); one writer at a time per process.</summary>
internal static class DtlsKeyLogWriter
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);

    public static async ValueTask AppendAsync(string path, ReadOnlyMemory<byte> clientRandom, ReadOnlyMemory<byte> masterSecret, ILogger logger,
        CancellationToken cancellationToken)
    {
        string line = NssKeyLog.FormatClientRandom(clientRandom.Span, masterSecret.Span) + "\n";
        await s_gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await File.AppendAllTextAsync(path, line, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            DtlsLog.KeyLogFailed(logger, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            DtlsLog.KeyLogFailed(logger, ex);
        }
        finally
        {
            s_gate.Release();
        }
    }
}
