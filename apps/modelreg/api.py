from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import acting_principal, acting_user, is_staff_session
from apps.accounts.request import Request
from apps.cad.part_names import drawing_words, named_family
from apps.modelreg import evaluation, feedback, learning, selectors, training
from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    ModelVersion,
    RegisteredModel,
)
from apps.modelreg.services import deployments, inference, registry
from apps.modelreg.validation import feature_width, max_model_bytes
from cadml.lib import params
from cadml.lib.errors import InvalidInput, NotFound
from cadml.lib.openapi import errors, results_of


class VersionOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number")
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True
    )
    validation_rows = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "status",
            "failure_reason",
            "sha256",
            "size",
            "metrics",
            "training_summary",
            "evaluation",
            "snapshot_sha256",
            "labels",
            "validation_rows",
            "created_by",
            "created",
        ]

    evaluation = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()

    def get_evaluation(self, obj: ModelVersion) -> dict[str, Any]:
        return evaluation.public(
            obj.evaluation,
            base_url=f"/api/v1/models/{obj.model.name}/versions/{obj.number}",
        )

    def get_labels(self, obj: ModelVersion) -> list[str]:
        return obj.class_labels()

    def get_validation_rows(self, obj: ModelVersion) -> int:
        return len((obj.validation_sample or {}).get("labels") or [])


class EventOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(
        source="version.number", default=None, allow_null=True
    )
    previous_version = serializers.IntegerField(
        source="previous_version.number", default=None, allow_null=True
    )
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ActivationEvent
        fields = [
            "id",
            "kind",
            "status",
            "version",
            "previous_version",
            "params",
            "detail",
            "actor",
            "created",
            "finished",
        ]

    def get_actor(self, obj: ActivationEvent) -> str | None:
        if obj.actor is not None:
            return obj.actor.username
        if obj.actor_key is not None:
            return f"key:{obj.actor_key.prefix}"
        return None


class DeploymentOutputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Deployment.Mode.choices)
    candidate_version = serializers.IntegerField(allow_null=True)
    candidate_percent = serializers.IntegerField()
    sticky_by = serializers.ChoiceField(choices=Deployment.Sticky.choices)
    history = serializers.ListField(child=serializers.IntegerField())
    guardrail = inline_serializer(
        name="DeploymentGuardrail",
        fields={
            "max_error_rate": serializers.FloatField(),
            "window": serializers.IntegerField(),
        },
    )
    pending = EventOutputSerializer(allow_null=True)


class ModelOutputSerializer(serializers.Serializer):
    """What ``_model_out`` renders."""

    name = serializers.CharField()
    owner = serializers.ChoiceField(choices=["tenant", "platform"])
    task = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    feature_version = serializers.CharField()
    active_version = serializers.IntegerField(allow_null=True)
    created = serializers.DateTimeField()
    deployment = DeploymentOutputSerializer(
        required=False, help_text="Absent before the first activation."
    )


class ModelDetailOutputSerializer(ModelOutputSerializer):
    figures = serializers.DictField(help_text="Live traffic figures per version.")
    activations = EventOutputSerializer(many=True)


def _model_out(
    model: RegisteredModel, *, detail: bool = False, tenant: Any = None
) -> dict[str, Any]:
    dep = (
        Deployment.objects.filter(model=model)
        .select_related("active_version", "candidate_version", "pending__version")
        .first()
    )
    out: dict[str, Any] = {
        "name": model.name,
        "owner": "tenant" if model.tenant_id else "platform",
        "task": model.task,
        "labels": model.labels,
        "feature_version": model.feature_version,
        "active_version": dep.active_version.number
        if dep and dep.active_version
        else None,
        "created": model.created,
    }
    if dep:
        out["deployment"] = {
            "mode": dep.mode,
            "candidate_version": dep.candidate_version.number
            if dep.candidate_version
            else None,
            "candidate_percent": dep.candidate_percent,
            "sticky_by": dep.sticky_by,
            "history": list(
                ModelVersion.objects.filter(pk__in=dep.history).values_list(
                    "number", flat=True
                )
            ),
            "guardrail": {
                "max_error_rate": dep.guardrail_max_error_rate,
                "window": dep.guardrail_window,
                "min_accuracy": dep.guardrail_min_accuracy,
                "feedback_window": dep.guardrail_feedback_window,
            },
            "pending": EventOutputSerializer(dep.pending).data if dep.pending else None,
        }
    if detail:
        out["figures"] = selectors.deployment_figures(model=model)
        out["live_accuracy"] = feedback.live_accuracy(model=model, tenant=tenant)
        out["activations"] = EventOutputSerializer(
            selectors.event_list(model=model)[:20], many=True
        ).data
    return out


def _json_field(data: Any, name: str, default: Any) -> Any:
    """A multipart field holding JSON (or a JSON body's value), parsed and
    checked to be storable."""
    raw = data.get(name)
    if raw in (None, ""):
        return default
    if not isinstance(raw, list | dict):
        text = params.text(raw, field=name, max_length=None, allow_controls=True)
        try:
            raw = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise InvalidInput(
                f"{name} must be JSON.", code=f"bad_{name}", field=name
            ) from None
    return params.json_value(raw, field=name)


class ModelListApi(APIView):
    @extend_schema(
        operation_id="models_list",
        responses=results_of("ModelList", ModelOutputSerializer),
        summary="Models this tenant may use",
    )
    def get(self, request: Request) -> Response:
        models = selectors.model_list(tenant=request.tenant)
        return Response({"results": [_model_out(m) for m in models]})


class ModelDetailApi(APIView):
    @extend_schema(
        responses=ModelDetailOutputSerializer,
        summary="A model, its deployment and recent activations",
    )
    def get(self, request: Request, name: str) -> Response:
        model = selectors.model_get(tenant=request.tenant, name=name)
        return Response(_model_out(model, detail=True, tenant=request.tenant))


class VersionListApi(APIView):
    @extend_schema(
        operation_id="models_versions_list",
        responses=results_of("ModelVersionList", VersionOutputSerializer),
        summary="A model's versions",
    )
    def get(self, request: Request, name: str) -> Response:
        model = selectors.model_get(tenant=request.tenant, name=name)
        versions = selectors.version_list(model=model)
        return Response({"results": VersionOutputSerializer(versions, many=True).data})


class VersionRegisterApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                name="ModelVersionRegisterInput",
                fields={
                    "file": serializers.FileField(help_text="The ONNX model."),
                    "labels": serializers.CharField(
                        help_text="Class names in column order: a JSON list or "
                        "comma-separated."
                    ),
                    "feature_version": serializers.CharField(
                        help_text="The feature vector it reads, e.g. dxf-1."
                    ),
                    "metrics": serializers.CharField(
                        required=False, help_text="A JSON object."
                    ),
                    "validation_sample": serializers.CharField(
                        required=False,
                        help_text='JSON {"features": [[...]], "labels": [...]}.',
                    ),
                },
            )
        },
        responses={
            201: VersionOutputSerializer,
            **errors(
                e409="A version with this content exists.",
                e413="The model file is too large.",
            ),
        },
        summary="Register a model version (admin scope)",
    )
    def post(self, request: Request, name: str) -> Response:
        """Register an ONNX file: multipart ``file``, ``labels`` (JSON list or
        comma-separated), ``feature_version``, optional ``metrics`` and
        ``validation_sample`` (JSON)."""
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(
                "Send the ONNX model as the multipart field 'file'.", field="file"
            )
        labels = request.data.get("labels") or ""
        if isinstance(labels, str) and not labels.strip().startswith("["):
            labels = [x.strip() for x in labels.split(",") if x.strip()]
            params.json_value(labels, field="labels")
        else:
            labels = _json_field(request.data, "labels", [])
        if not isinstance(labels, list) or not labels:
            raise InvalidInput(
                "labels is required: the class names in column order.",
                field="labels",
            )
        feature_version = params.text(
            request.data.get("feature_version"),
            field="feature_version",
            max_length=RegisteredModel._meta.get_field("feature_version").max_length,
        )
        if not feature_version:
            raise InvalidInput(
                "feature_version is required (e.g. dxf-1).", field="feature_version"
            )
        metrics = _json_field(request.data, "metrics", {})
        if not isinstance(metrics, dict):
            raise InvalidInput("metrics must be a JSON object.", field="metrics")
        limit = max_model_bytes()
        if upload.size > limit:
            from cadml.lib.errors import PayloadTooLarge

            raise PayloadTooLarge(
                f"The model file is {upload.size} bytes; the limit is {limit}."
            )
        version = registry.version_register(
            tenant=request.tenant,
            name=name,
            content=upload.read(),
            labels=labels,
            feature_version=str(feature_version),
            metrics=metrics,
            validation_sample=_json_field(request.data, "validation_sample", None),
            created_by=acting_principal(request),
        )
        return Response(
            VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED
        )


class VersionDetailApi(APIView):
    @extend_schema(responses=VersionOutputSerializer, summary="One model version")
    def get(self, request: Request, name: str, number: int) -> Response:
        model = selectors.model_get(tenant=request.tenant, name=name)
        version = selectors.version_get(model=model, number=number)
        return Response(VersionOutputSerializer(version).data)


class VersionArchiveApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request=None,
        responses={
            200: VersionOutputSerializer,
            **errors(e409="The version is serving or being activated."),
        },
        summary="Archive a version",
    )
    def post(self, request: Request, name: str, number: int) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        version = deployments.version_archive(
            version=selectors.version_get(model=model, number=number)
        )
        return Response(VersionOutputSerializer(version).data)


_DEPLOYMENT_CONFLICT = "The deployment is not in a state that allows this."


class _VersionInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class ModelActivateApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request=_VersionInput,
        responses={
            202: EventOutputSerializer,
            **errors(e409=_DEPLOYMENT_CONFLICT),
        },
        summary="Activate a version (health-checked, then swapped in)",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        data = _VersionInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = deployments.deployment_request(
            model=model,
            number=data.validated_data["version"],
            actor=acting_principal(request),
        )
        event.refresh_from_db()
        return Response(
            EventOutputSerializer(event).data, status=status.HTTP_202_ACCEPTED
        )


class ModelRollbackApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request=None,
        responses={200: EventOutputSerializer, **errors(e409=_DEPLOYMENT_CONFLICT)},
        summary="Go back to the previous active version",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        event = deployments.deployment_rollback(
            model=model, actor=acting_principal(request)
        )
        return Response(EventOutputSerializer(event).data)


class ModelExperimentApi(APIView):
    """Start an A/B test (``mode: ab``) or a shadow (``mode: shadow``)."""

    required_scope = "admin"

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)
        mode = serializers.ChoiceField(choices=["ab", "shadow"], default="ab")
        percent = serializers.IntegerField(min_value=1, max_value=99, default=10)
        sticky_by = serializers.ChoiceField(
            choices=Deployment.Sticky.values, default="tenant"
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            202: EventOutputSerializer,
            **errors(e409=_DEPLOYMENT_CONFLICT),
        },
        summary="Start an A/B test or a shadow deployment",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = deployments.deployment_request(
            model=model,
            number=v["version"],
            kind=ActivationEvent.Kind.AB_START
            if v["mode"] == "ab"
            else ActivationEvent.Kind.SHADOW_START,
            percent=v["percent"],
            sticky_by=v["sticky_by"],
            actor=acting_principal(request),
        )
        event.refresh_from_db()
        return Response(
            EventOutputSerializer(event).data, status=status.HTTP_202_ACCEPTED
        )


class ModelPromoteApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request=None,
        responses={200: EventOutputSerializer, **errors(e409=_DEPLOYMENT_CONFLICT)},
        summary="Make the experiment's candidate the active version",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        event = deployments.deployment_promote(
            model=model, actor=acting_principal(request)
        )
        return Response(EventOutputSerializer(event).data)


class ModelStopApi(APIView):
    required_scope = "admin"

    @extend_schema(
        request=None,
        responses={200: EventOutputSerializer, **errors(e409=_DEPLOYMENT_CONFLICT)},
        summary="Stop the experiment",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        event = deployments.deployment_stop(
            model=model, actor=acting_principal(request)
        )
        return Response(EventOutputSerializer(event).data)


class ModelPredictApi(APIView):
    """Classify a feature vector directly (scripts, benchmarks)."""

    required_scope = "read"

    class InputSerializer(serializers.Serializer):
        features = serializers.ListField(
            child=serializers.FloatField(), min_length=1, max_length=4096
        )
        file_name = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=255,
            help_text="The drawing's file name: its words weigh in as for an "
            "uploaded drawing (the family it names; the words a tenant's model "
            "learned its labels' names have).",
        )
        title = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=255,
            help_text="The part name its title block gives (an analysis' "
            "title_block.part_name): weighed in as the file name is.",
        )

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer(
            name="ModelPrediction",
            fields={
                "prediction": serializers.JSONField(
                    allow_null=True, help_text="Label, confidence, top3, model."
                ),
                "reason": serializers.CharField(),
            },
        ),
        summary="Classify a feature vector",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get(tenant=request.tenant, name=name)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        width = feature_width(model.feature_version)
        if len(data.validated_data["features"]) != width:
            raise InvalidInput(
                f"features must have {width} numbers ({model.feature_version}); "
                f"got {len(data.validated_data['features'])}.",
                code="bad_features",
            )
        file_name = data.validated_data.get("file_name") or None
        title = data.validated_data.get("title") or None
        words, in_title = drawing_words(file_name, title)
        out = inference.predict(
            features=data.validated_data["features"],
            feature_version=model.feature_version,
            tenant_id=request.tenant.pk,
            user_id=request.user.pk if request.user.is_authenticated else None,
            request_key=getattr(request._request, "request_id", None),
            model_name=name,
            named=named_family(file_name=file_name, title=title),
            words=words,
            in_title=in_title,
        )
        return Response(
            {"prediction": out["prediction"], "reason": out.get("reason", "")}
        )


class VersionPictureApi(APIView):
    """``confusion.svg`` / ``calibration.svg`` of a trained version."""

    picture = "confusion"

    @extend_schema(
        responses={
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The picture as SVG."
            )
        },
        summary="An evaluation picture of a trained version (SVG)",
    )
    def get(self, request: Request, name: str, number: int) -> HttpResponse:
        model = selectors.model_get(tenant=request.tenant, name=name)
        version = selectors.version_get(model=model, number=number)
        svg = ((version.evaluation or {}).get("svg") or {}).get(self.picture)
        if not svg:
            raise NotFound(
                f"Version {number} has no {self.picture} picture; only versions "
                "trained from labels carry an evaluation."
            )
        response = HttpResponse(svg, content_type="image/svg+xml")
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ModelTrainApi(APIView):
    """Train the tenant's own model ``name`` on its labelled drawings (a job)."""

    required_scope = "admin"

    class InputSerializer(serializers.Serializer):
        labels = serializers.ListField(
            child=serializers.CharField(max_length=200, allow_blank=True),
            required=False,
            allow_null=True,
            default=None,
            min_length=1,
            max_length=1000,
        )
        min_per_class = serializers.IntegerField(
            min_value=1, max_value=100_000, default=5
        )
        deploy = serializers.ChoiceField(choices=learning.DEPLOY_MODES, default="none")
        candidate_percent = serializers.IntegerField(
            min_value=1, max_value=99, default=10
        )
        base = serializers.ChoiceField(
            choices=training.BASES,
            default="none",
            help_text="none: the tenant's labelled drawings alone; default: "
            "beside the default model's generated drawings, so the model "
            "knows its families as well (label with their names to correct "
            "them; one drawing of such a family is enough).",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            202: inline_serializer(
                name="ModelTrainAccepted",
                fields={
                    "job": serializers.IntegerField(),
                    "model": serializers.CharField(),
                    "url": serializers.CharField(),
                    "channel": serializers.CharField(),
                },
            ),
            **errors(e409="A training of this model is already running."),
        },
        summary="Train the tenant's model on its labelled drawings (a job)",
    )
    def post(self, request: Request, name: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = learning.training_request(
            tenant=request.tenant, user=request.user, name=name, **data.validated_data
        )
        return Response(
            {
                "job": job.pk,
                "model": name,
                "url": f"/api/v1/jobs/{job.pk}",
                "channel": job.channel,
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/jobs/{job.pk}"},
        )


class AnalysisFeedbackApi(APIView):
    """``{"label": "...", "comment": "..."}``: what the drawing really is."""

    class InputSerializer(serializers.Serializer):
        # A declared field: DRF's metaclass moves it off Field.label.
        label = serializers.CharField(  # type: ignore[assignment]
            max_length=200, allow_blank=True, trim_whitespace=False
        )
        comment = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                name="Feedback",
                fields={
                    "id": serializers.IntegerField(),
                    "analysis_id": serializers.IntegerField(),
                    "drawing_id": serializers.IntegerField(),
                    "model": serializers.CharField(),
                    "version": serializers.IntegerField(allow_null=True),
                    "variant": serializers.CharField(allow_null=True),
                    "predicted_label": serializers.CharField(),
                    "confidence": serializers.FloatField(allow_null=True),
                    "corrected_label": serializers.CharField(),
                    "outcome": serializers.CharField(),
                    "comment": serializers.CharField(),
                    "created": serializers.DateTimeField(),
                },
            ),
            **errors(e409="The analysis has no prediction to correct."),
        },
        summary="Correct a prediction: the drawing's real label",
    )
    def post(self, request: Request, analysis_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fb = feedback.feedback_create(
            tenant=request.tenant,
            analysis_id=analysis_id,
            label=data.validated_data["label"],
            comment=data.validated_data["comment"],
            user=acting_user(request),
        )
        return Response(
            {
                "id": fb.pk,
                "analysis_id": fb.analysis_id,
                "drawing_id": fb.analysis.drawing_id,
                "model": fb.model_name,
                "version": fb.version_number,
                "variant": fb.variant or None,
                "predicted_label": fb.predicted_label,
                "confidence": fb.confidence,
                "corrected_label": fb.corrected_label,
                "outcome": fb.outcome,
                "comment": fb.comment,
                "created": fb.created,
            },
            status=status.HTTP_201_CREATED,
        )


class ModelGuardrailApi(APIView):
    """Set the guardrails: on errors (``max_error_rate`` over ``window``
    predictions) and on corrections (``min_accuracy`` over
    ``feedback_window`` corrections); 0 switches a rate off."""

    required_scope = "admin"

    class InputSerializer(serializers.Serializer):
        max_error_rate = serializers.FloatField(
            min_value=0, max_value=1, required=False
        )
        window = serializers.IntegerField(
            min_value=1, max_value=100_000, required=False
        )
        min_accuracy = serializers.FloatField(min_value=0, max_value=1, required=False)
        feedback_window = serializers.IntegerField(
            min_value=1, max_value=100_000, required=False
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                name="Guardrail",
                fields={
                    "max_error_rate": serializers.FloatField(),
                    "window": serializers.IntegerField(),
                    "min_accuracy": serializers.FloatField(required=False),
                    "feedback_window": serializers.IntegerField(required=False),
                },
            )
        },
        summary="Set the deployment guardrails",
    )
    def post(self, request: Request, name: str) -> Response:
        model = selectors.model_get_writable(
            tenant=request.tenant, name=name, staff=is_staff_session(request)
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback.guardrail_set(model=model, **data.validated_data)
        return Response(_model_out(model)["deployment"]["guardrail"])
