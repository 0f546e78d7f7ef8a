package plugins

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// wireError is an error that crossed the wire: the backend's message, word
// for word, with the sentinel or typed error it matched on the plugin side.
type wireError struct {
	msg  string
	kind error
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.kind }

// errorToStatus turns a backend's error into a gRPC status. The message is
// kept whole; the kind travels as a code plus an ErrorDetail.
func errorToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !isContractError(err) {
		// Already a status (a failed stream.Send inside Import, say).
		return err
	}
	var (
		code   = codes.Unknown
		detail *pb.ErrorDetail
		ce     *ConfigError
		re     *RejectedError
	)
	switch {
	case errors.As(err, &ce):
		code = codes.InvalidArgument
		detail = &pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_INVALID_CONFIG, Field: ce.Field, Value: ce.Value, Reason: ce.Problem}
	case errors.As(err, &re):
		code = codes.InvalidArgument
		detail = &pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_WEBHOOK_REJECTED, Reason: re.Reason}
	case errors.Is(err, ErrUnsupported):
		code = codes.Unimplemented
		detail = &pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_UNSUPPORTED}
	case errors.Is(err, ErrNotConfigured):
		code = codes.FailedPrecondition
		detail = &pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_NOT_CONFIGURED}
	case errors.Is(err, ErrUnavailable):
		code = codes.Unavailable
		detail = &pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_UNAVAILABLE}
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	st := status.New(code, err.Error())
	if detail != nil {
		if withDetail, derr := st.WithDetails(detail); derr == nil {
			st = withDetail
		}
	}
	return st.Err()
}

func isContractError(err error) bool {
	var ce *ConfigError
	var re *RejectedError
	return errors.As(err, &ce) || errors.As(err, &re) || errors.Is(err, ErrUnsupported) ||
		errors.Is(err, ErrNotConfigured) || errors.Is(err, ErrUnavailable)
}

// statusToError turns a gRPC error back into an error the caller can test
// with errors.Is / errors.As against this package's sentinels and types, and
// against context.Canceled and context.DeadlineExceeded.
func statusToError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	var detail *pb.ErrorDetail
	for _, d := range st.Details() {
		if ed, ok := d.(*pb.ErrorDetail); ok {
			detail = ed
			break
		}
	}
	switch detail.GetKind() {
	case pb.ErrorKind_ERROR_KIND_INVALID_CONFIG:
		return &wireError{msg: msg, kind: &ConfigError{Field: detail.GetField(), Value: detail.GetValue(), Problem: detail.GetReason()}}
	case pb.ErrorKind_ERROR_KIND_WEBHOOK_REJECTED:
		return &wireError{msg: msg, kind: &RejectedError{Reason: detail.GetReason()}}
	case pb.ErrorKind_ERROR_KIND_UNSUPPORTED:
		return &wireError{msg: msg, kind: ErrUnsupported}
	case pb.ErrorKind_ERROR_KIND_NOT_CONFIGURED:
		return &wireError{msg: msg, kind: ErrNotConfigured}
	case pb.ErrorKind_ERROR_KIND_UNAVAILABLE:
		return &wireError{msg: msg, kind: ErrUnavailable}
	}
	switch st.Code() {
	case codes.Unimplemented:
		// A plugin built against an older backend.proto lacks the method.
		return &wireError{msg: msg, kind: ErrUnsupported}
	case codes.Unavailable:
		// The transport broke: the plugin process is gone or going.
		return &wireError{msg: "plugin unavailable: " + msg, kind: ErrUnavailable}
	case codes.Canceled:
		return &wireError{msg: msg, kind: context.Canceled}
	case codes.DeadlineExceeded:
		return &wireError{msg: msg, kind: context.DeadlineExceeded}
	}
	return &wireError{msg: msg}
}
