using System.Diagnostics;

namespace CoapEnroll.Ca;

/// <summary>Records store calls into <c>ca.store.duration</c> for the instrumented stores (<see cref="InstrumentedCertificateStore"/>, <see cref="InstrumentedTransactionStore"/>).</summary>
internal static class StoreTimer
{
    // The timestamp is taken by the caller before the call that made the task, so the histogram holds the whole call.
    public static async Task<T> TimeAsync<T>(string operation, long started, Task<T> call)
    {
        try
        {
            T result = await call;
            Record(operation, started, null);
            return result;
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
    }

    public static async Task TimeAsync(string operation, long started, Task call)
    {
        try
        {
            await call;
            Record(operation, started, null);
        }
        catch (Exception ex)
        {
            Record(operation, started, ex);
            throw;
        }
    }

    private static void Record(string operation, long started, Exception? failure)
    {
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (failure is null)
        {
            CaMetrics.StoreDuration.Record(seconds, new KeyValuePair<string, object?>("operation", operation));
        }
        else
        {
            CaMetrics.StoreDuration.Record(seconds, new KeyValuePair<string, object?>("operation", operation),
                new KeyValuePair<string, object?>("error.type", failure.GetType().Name));
        }
    }
}
