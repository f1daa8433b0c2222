using System.Runtime.ExceptionServices;
using System.Text;

namespace CoapEnroll.Testing;

/// <summary>
/// Records every exception thrown (first chance: caught or not) while recording, in the async flow that created the recorder
/// and in whatever that flow starts after it was created (tasks, receive loops, continuations inherit its ExecutionContext).
/// Work started before, such as a server bound before the recorder, is not recorded, nor are other tests running in parallel.
/// </summary>
public sealed class FirstChanceExceptionRecorder : IDisposable
{
    private static readonly AsyncLocal<FirstChanceExceptionRecorder?> s_current = new();
    private readonly List<string> _seen = [];
    private int _recording;

    public FirstChanceExceptionRecorder()
    {
        s_current.Value = this;
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
    }

    /// <summary>Each recorded exception: type, message and the stack where it was thrown.</summary>
    public IReadOnlyList<string> Exceptions
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }
    }

    public void Start() => Volatile.Write(ref _recording, 1);

    public void Stop() => Volatile.Write(ref _recording, 0);

    public string Describe()
    {
        var text = new StringBuilder();
        foreach (string seen in Exceptions)
        {
            text.AppendLine(seen).AppendLine("----");
        }

        return text.ToString();
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
        if (ReferenceEquals(s_current.Value, this))
        {
            s_current.Value = null;
        }
    }

    private void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (Volatile.Read(ref _recording) == 0 || !ReferenceEquals(s_current.Value, this))
        {
            return;
        }

        string seen = $"{e.Exception.GetType().FullName}: {e.Exception.Message}{Environment.NewLine}{Environment.StackTrace}";
        lock (_seen)
        {
            _seen.Add(seen);
        }
    }
}
