from django.urls import path, register_converter

from clearfacts_app import (
    activity_views,
    comment_views,
    document_views,
    notification_views,
    office_views,
    people_views,
    views,
)
from portal.converters import CompanyNumberConverter

app_name = "clearfacts_app"
register_converter(CompanyNumberConverter, "company")

urlpatterns = [
    # /administrations/...
    path("administrations/", views.administration_list, name="administration-list"),
    path("administrations/<company:company_number>/", views.administration_detail, name="administration-detail"),
    path("administrations/<company:company_number>/journals/", views.administration_journals, name="journals"),
    path("administrations/<company:company_number>/customers/", views.administration_customers, name="customers"),
    path("administrations/<company:company_number>/archive/", views.administration_archive, name="archive"),
    path("administrations/<company:company_number>/statistics/", views.administration_statistics, name="statistics"),
    path("administrations/<company:company_number>/app-info/", views.administration_app_info, name="app-info"),
    path("administrations/<company:company_number>/documents/", views.administration_documents, name="documents"),
    # .../people/ : who has access and their roles; .../people/<access>/role/ changes one
    path("administrations/<company:company_number>/people/", people_views.people_list, name="people"),
    path(
        "administrations/<company:company_number>/people/<int:administrationaccess_pk>/role/",
        people_views.person_role,
        name="person-role",
    ),
    path("administrations/<company:company_number>/activity/", activity_views.administration_activity, name="activity"),
    path(
        "administrations/<company:company_number>/documents/upload/",
        document_views.document_upload,
        name="document-upload",
    ),
    path(
        "administrations/<company:company_number>/documents/<int:document_pk>/",
        document_views.document_detail,
        name="document-detail",
    ),
    path(
        "administrations/<company:company_number>/documents/<int:document_pk>/status/",
        document_views.document_status,
        name="document-status",
    ),
    path(
        "administrations/<company:company_number>/documents/<int:document_pk>/retry/",
        document_views.document_action,
        {"action": "retry"},
        name="document-retry",
    ),
    path(
        "administrations/<company:company_number>/documents/<int:document_pk>/send/",
        document_views.document_action,
        {"action": "send"},
        name="document-send",
    ),
    path(
        "administrations/<company:company_number>/documents/<int:document_pk>/cancel/",
        document_views.document_action,
        {"action": "cancel"},
        name="document-cancel",
    ),
    # .../documents/<document_pk>/comments/... : the document's comments (clearfacts_app.comment_pages.comment_routes)
    *comment_views.routes(),
    # /activity/ (every administration the user may see, and the office's own rows)
    path("activity/", activity_views.office_activity, name="office-activity"),
    # /documents/ (every administration the user may see)
    path("documents/", document_views.document_list, name="document-list"),
    # /notifications/... (the signed-in person's own)
    path("notifications/", notification_views.notification_list, name="notification-list"),
    path("notifications/bell/", notification_views.notification_bell, name="notification-bell"),
    path("notifications/read/", notification_views.notifications_read_all, name="notification-read-all"),
    path("notifications/<int:notification_pk>/open/", notification_views.notification_open, name="notification-open"),
    # /office/...
    path("office/", office_views.office, name="office"),
    path("office/associates/", office_views.associate_list, name="associate-list"),
    path("office/associates/add/", office_views.associate_add, name="associate-add"),
    path("office/associates/<uuid:associate_ref>/edit/", office_views.associate_edit, name="associate-edit"),
]
