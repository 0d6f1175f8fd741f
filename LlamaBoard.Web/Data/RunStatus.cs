namespace LlamaBoard.Web.Data;

/// <summary>Where a run is in its life. Stored by name in the history.</summary>
public enum RunStatus
{
    /// <summary>Waiting for its device to be free.</summary>
    Queued,
    /// <summary>Training.</summary>
    Running,
    /// <summary>Abort was pressed; finishing the current step and saving a checkpoint.</summary>
    Stopping,
    /// <summary>Ran all its steps.</summary>
    Completed,
    /// <summary>Stopped by Abort at a step boundary (resumable from its last checkpoint).</summary>
    Stopped,
    /// <summary>Ended by an error; <see cref="RunRecord.Error"/> says which.</summary>
    Failed,
    /// <summary>The board stopped while the run was queued or running (resumable from its last checkpoint).</summary>
    Interrupted,
}

/// <summary>Questions about statuses asked in several places.</summary>
public static class RunStatuses
{
    /// <summary>True while the run is queued, running or stopping.</summary>
    public static bool IsActive(this RunStatus status) => status is RunStatus.Queued or RunStatus.Running or RunStatus.Stopping;

    /// <summary>True when the run can be continued: stopped or interrupted.</summary>
    public static bool CanResume(this RunStatus status) => status is RunStatus.Stopped or RunStatus.Interrupted;
}
